package whatsapp

import (
	"path"
	"strings"
	"unicode"
)

// What a message's text marks it as (capture.Message.Subtype).
const (
	subtypeSystem  = "system"
	subtypeDeleted = "deleted"
	// A message whose text is a poll, a location, a live location or a
	// contact card, as WhatsApp writes each in an export; its text is
	// kept as written.
	subtypePoll         = "poll"
	subtypeLocation     = "location"
	subtypeLiveLocation = "live-location"
	subtypeContact      = "contact"
	// subtypeNoText is an authored message with no text: "Carol:" and
	// nothing after it, which is how Android writes a view-once photo.
	subtypeNoText = "no-text"
)

// The words WhatsApp writes for deleted, edited, omitted and attached
// media differ with the phone's language. Each list below gives where its
// strings were seen written by WhatsApp: other parsers and analysers of
// exports found with the search of public code (cited by the excerpt id
// the search gave, and what the file was), read for the facts only. The
// English and some German, Spanish, French, Portuguese, Italian and Dutch
// strings were already in this file before those searches.

// deletedTexts are what WhatsApp writes in place of a deleted message.
var deletedTexts = []string{
	"This message was deleted.", "This message was deleted", "You deleted this message.", "You deleted this message",
	// de: a Python WhatsApp reader (31744713004) and a Rust export parser (69674944534)
	"Diese Nachricht wurde gelöscht.", "Du hast diese Nachricht gelöscht.",
	// es: a TypeScript parser's tests of Android exports (61422723938)
	"Se eliminó este mensaje.", "Eliminaste este mensaje.",
	// fr: the Rust export parser (69674944534)
	"Ce message a été supprimé.", "Ce message a été supprimé", "Vous avez supprimé ce message.", "Vous avez supprimé ce message",
	"Essa mensagem foi apagada", "Você apagou esta mensagem", // pt
	"Questo messaggio è stato eliminato", // it: and a language table of deleted-message texts (69467905758)
	// nl: a Dutch export reader (58966500501)
	"Dit bericht is verwijderd", "Je hebt dit bericht verwijderd",
	// tr: Turkish export parsers (71150611638, 69159432810)
	"Bu mesaj silindi", "Bu mesaj silindi.", "Bu mesajı sildiniz", "Bu mesajı sildiniz.",
	// ru: the language table (69467905758) and a Russian analyser (56847172456)
	"Данное сообщение удалено",
	// ar: Arabic export analysers (44813263235, 71001239046)
	"تم حذف هذه الرسالة", "حذفت هذه الرسالة", "لقد حذفت أنت هذه الرسالة",
}

// editedMarks end the text of an edited message.
var editedMarks = []string{
	"<This message was edited>", "<Diese Nachricht wurde bearbeitet>", "<Se editó este mensaje.>", "<Ce message a été modifié>", "<Mensagem editada>",
	// it, nl: the Rust export parser (69674944534)
	"<Questo messaggio è stato modificato>", "<Dit bericht is bewerkt>",
	// tr: a Turkish export analyser (69159432810) and parser (71150611638)
	"<Bu mesaj düzenlendi>",
	// ru: the Russian analyser (56847172456), matched in any case
	"<Сообщение изменено>",
	// ar: Arabic export readers (36067522319, 60814631197, 68987002348)
	"<تم تعديل هذه الرسالة>",
}

// omittedMarks are what an export made without media writes in place of
// a media file; the value says what kind of file it was.
var omittedMarks = map[string]string{
	"<Media omitted>": "media", "<Medien ausgeschlossen>": "media", "<Multimedia omitido>": "media",
	"<Mídia oculta>": "media", "<Media omessi>": "media", "<Médias omis>": "media", "<Media weggelaten>": "media",
	"image omitted": "image", "video omitted": "video", "audio omitted": "audio", "sticker omitted": "sticker",
	"GIF omitted": "GIF", "document omitted": "document", "Contact card omitted": "contact card",
	"<View once voice message omitted>": "view-once voice message", "<View once media omitted>": "view-once media",
	"Bild weggelassen": "image", "Video weggelassen": "video", "Audio weggelassen": "audio",
	"imagen omitida": "image", "video omitido": "video", "audio omitido": "audio",
	"image absente": "image", "vidéo absente": "video", "audio omis": "audio",
	// pt: a multi-language media module (54685424255)
	"<Mídia omitida>": "media",
	// tr: Turkish export readers (52484846777, 70088355784, 23583770025)
	"<Medya dahil edilmedi>": "media", "görüntü dahil edilmedi": "image", "video dahil edilmedi": "video",
	"ses dahil edilmedi": "audio", "belge dahil edilmedi": "document", "çıkartma dahil edilmedi": "sticker",
	// ru: Russian export readers (23157184728, 46610704941, 56847172456)
	"<Без медиафайлов>": "media", "изображение отсутствует": "image", "видео отсутствует": "video", "аудиофайл отсутствует": "audio",
	// ar: Arabic export readers (44813263235, 11961877866)
	"<تم استبعاد الوسائط>": "media",
}

// attachedLabels are the words of the iOS marker "<attached: NAME>"; a
// label not listed counts too when NAME is a file of the export.
var attachedLabels = []string{"attached", "anexado", "adjunto", "Anhang", "allegato", "pièce jointe", "bijlage", "прикреплено",
	// ru, tr, ar: the multi-language media module (54685424255); ar also
	// an Arabic export reader's comment (68987002348)
	"вложение", "ekli dosya", "مرفق",
}

// fileAttachedLabels are the words of the Android marker "NAME (file attached)".
var fileAttachedLabels = []string{"file attached", "Datei angehängt", "archivo adjunto", "fichier joint", "arquivo anexado", "file allegato", "bestand bijgevoegd",
	// nl: the Dutch export reader (58966500501); ru, tr: the media module
	// (54685424255) and a Turkish parser (71150611638); ar: Arabic export
	// readers (60814631197, 22478930134, 68987002348)
	"файл добавлен", "dosya ekli", "الملف مرفق", "ملف مرفق",
}

// pollPrefixes start the text of a poll: "POLL:" then the question and
// "OPTION: … (N votes)" lines. tr: the Turkish parser (71150611638).
var pollPrefixes = []string{"POLL:", "ANKET:"}

// locationPrefixes start a shared location: "Location: https://maps…".
// de: an export parser (70524838880); tr: the Turkish parser (71150611638).
var locationPrefixes = []string{"Location: ", "location: ", "Standort: ", "konum: ", "Konum: "}

// liveLocationTexts are what a live location shared leaves in an export
// (the English words, as issue 22 quotes them; matched in any case).
var liveLocationTexts = []string{"live location shared"}

// mediaRef is a media file a message names.
type mediaRef struct {
	// name is the file's name in the export; "" for an omitted file.
	name string
	// omitted is the kind of file left out of an export without media.
	omitted string
	// marker is the text that named it.
	marker string
}

// findMedia returns the media files a message's text names, on any of
// its lines and anywhere in a line: iOS "<attached: NAME>" (a document
// as "NAME • 3 pages <attached: FILE>"), Android "NAME (file attached)",
// or an "omitted" marker. inExport reports whether a name is a file of
// the export, which lets a marker in a language not listed here count.
func findMedia(text string, inExport func(string) bool) []mediaRef {
	var refs []mediaRef
	for ln := range strings.SplitSeq(text, "\n") {
		ln = trimMarks(ln)
		if ln == "" {
			continue
		}
		found := false
		// iOS: "<attached: 00000012-PHOTO-2022-12-31-11-40-26.jpg>",
		// anywhere in the line.
		for rest := ln; ; {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			end := strings.IndexByte(rest[i:], '>')
			if end < 0 {
				break
			}
			inner := rest[i+1 : i+end]
			if label, name, ok := strings.Cut(inner, ":"); ok {
				name = trimMarks(name)
				if name != "" && (contains(attachedLabels, trimMarks(label)) || inExport(name)) {
					refs = append(refs, mediaRef{name: name, marker: rest[i : i+end+1]})
					found = true
				}
			}
			rest = rest[i+end+1:]
		}
		if found {
			continue
		}
		// Android: "IMG-20191031-WA0005.jpg (file attached)".
		if strings.HasSuffix(ln, ")") {
			if i := strings.LastIndex(ln, " ("); i > 0 {
				name, label := trimMarks(ln[:i]), ln[i+2:len(ln)-1]
				if name != "" && (contains(fileAttachedLabels, label) || inExport(name)) {
					refs = append(refs, mediaRef{name: exportName(name, inExport), marker: ln})
					continue
				}
			}
		}
		// Without media: "<Media omitted>", "image omitted", and iOS
		// documents: "Report.pdf • 3 pages <LRM>document omitted".
		clean := strings.TrimSpace(stripMarks(ln))
		for mark, kind := range omittedMarks {
			if strings.EqualFold(clean, mark) {
				refs = append(refs, mediaRef{omitted: kind, marker: mark})
				break
			}
			if kind == "document" && strings.HasSuffix(clean, " "+mark) {
				name := strings.TrimSpace(strings.TrimSuffix(clean, mark))
				if i := strings.Index(name, " •"); i > 0 {
					name = name[:i]
				}
				refs = append(refs, mediaRef{omitted: kind, name: name, marker: mark})
				break
			}
		}
	}
	return refs
}

// exportName returns the file of the export that name ends with, when
// text stands before the file's name on its line, or name.
func exportName(name string, inExport func(string) bool) string {
	if inExport(name) {
		return name
	}
	for i := 0; i < len(name); i++ {
		if name[i] == ' ' && inExport(name[i+1:]) {
			return name[i+1:]
		}
	}
	return name
}

// kindOf returns the subtype that names what a message's text is: a
// poll, a location, a live location or a contact card; "" for others.
func kindOf(text string, refs []mediaRef) string {
	first, _, _ := strings.Cut(text, "\n")
	first = strings.TrimSpace(stripMarks(first))
	switch {
	case hasPrefix(first, pollPrefixes):
		return subtypePoll
	case hasPrefix(first, locationPrefixes):
		return subtypeLocation
	case contains(liveLocationTexts, first):
		return subtypeLiveLocation
	}
	for _, r := range refs {
		if strings.EqualFold(path.Ext(r.name), ".vcf") || r.omitted == "contact card" {
			return subtypeContact
		}
	}
	return ""
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// cutEdited returns text without the edit mark that ends it (and the
// direction marks and space before the mark), and whether there was one.
func cutEdited(text string) (string, bool) {
	s := strings.TrimRightFunc(text, func(r rune) bool { return isMark(r) || unicode.IsSpace(r) })
	for _, m := range editedMarks {
		if len(s) >= len(m) && strings.EqualFold(s[len(s)-len(m):], m) {
			return strings.TrimRightFunc(s[:len(s)-len(m)], func(r rune) bool { return isMark(r) || unicode.IsSpace(r) }), true
		}
	}
	return text, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// systemPhrases mark the lines iOS writes under the chat's name rather
// than without an author: the encryption notice, members joining and
// leaving, the subject or icon changed.
var systemPhrases = []string{
	"end-to-end encrypted", "created group", "created this group", " added ", " removed ", " left",
	"changed the subject", "changed this group's", "changed the group", "joined using this group's invite link",
	"security code", "changed their phone number", "disappearing messages", "You joined", " joined",
	"pinned a message", "changed the settings",
}

// systemText reports whether the text of an iOS line written under the
// chat's name is one of WhatsApp's own notices: such text starts with a
// direction mark.
func systemText(text string) bool {
	if !strings.HasPrefix(text, "\u200e") {
		return false
	}
	first, _, _ := strings.Cut(text, "\n")
	for _, p := range systemPhrases {
		if strings.Contains(first, p) {
			return true
		}
	}
	return false
}

// mimeTypes are the types of the files WhatsApp exports, by extension.
// The standard library's table depends on the machine; records must not.
var mimeTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
	".heic": "image/heic", ".mp4": "video/mp4", ".3gp": "video/3gpp", ".mov": "video/quicktime",
	".opus": "audio/ogg", ".ogg": "audio/ogg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".mp3": "audio/mpeg",
	".pdf": "application/pdf", ".vcf": "text/vcard", ".txt": "text/plain",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".doc":  "application/msword", ".xls": "application/vnd.ms-excel", ".zip": "application/zip",
}

func mimeType(name string) string { return mimeTypes[strings.ToLower(path.Ext(name))] }

// isPhone reports whether an author is a phone number rather than a
// saved name: "+44 7700 900123".
func isPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == 0xA0:
		default:
			return false
		}
	}
	return digits >= 5
}

// phoneID returns a phone number as "+" and its digits.
func phoneID(s string) string {
	var b strings.Builder
	if strings.HasPrefix(s, "+") {
		b.WriteByte('+')
	}
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
