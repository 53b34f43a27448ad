package whatsapp

import (
	"path"
	"strings"
)

// What a message's text marks it as.
const (
	subtypeSystem  = "system"
	subtypeDeleted = "deleted"
	subtypeEdited  = "edited"
)

// deletedTexts are what WhatsApp writes in place of a deleted message.
var deletedTexts = []string{
	"This message was deleted.", "This message was deleted", "You deleted this message.", "You deleted this message",
	"Diese Nachricht wurde gelöscht.", "Du hast diese Nachricht gelöscht.", "Se eliminó este mensaje.", "Eliminaste este mensaje.",
	"Ce message a été supprimé.", "Vous avez supprimé ce message.", "Essa mensagem foi apagada", "Você apagou esta mensagem",
	"Questo messaggio è stato eliminato", "Dit bericht is verwijderd",
}

// editedMarks end the text of an edited message.
var editedMarks = []string{"<This message was edited>", "<Diese Nachricht wurde bearbeitet>", "<Se editó este mensaje.>", "<Ce message a été modifié>", "<Mensagem editada>"}

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
}

// attachedLabels are the words of the iOS marker "<attached: NAME>".
var attachedLabels = []string{"attached", "anexado", "adjunto", "Anhang", "allegato", "pièce jointe", "bijlage", "прикреплено"}

// fileAttachedLabels are the words of the Android marker "NAME (file attached)".
var fileAttachedLabels = []string{"file attached", "Datei angehängt", "archivo adjunto", "fichier joint", "arquivo anexado", "file allegato", "bestand bijgevoegd"}

// mediaRef is a media file a message names.
type mediaRef struct {
	// name is the file's name in the export; "" for an omitted file.
	name string
	// omitted is the kind of file left out of an export without media.
	omitted string
	// marker is the text that named it.
	marker string
}

// findMedia returns the media file the first line of a message's text
// names, if any: iOS "<attached: NAME>", Android "NAME (file attached)",
// or an "omitted" marker. inExport reports whether a name is a file of
// the export, which lets a marker in a language not listed here count.
func findMedia(text string, inExport func(string) bool) (mediaRef, bool) {
	first, _, _ := strings.Cut(text, "\n")
	first = trimMarks(first)
	if first == "" {
		return mediaRef{}, false
	}
	// iOS: "<attached: 00000012-PHOTO-2022-12-31-11-40-26.jpg>"
	if strings.HasPrefix(first, "<") {
		if end := strings.IndexByte(first, '>'); end > 0 {
			inner := first[1:end]
			if label, name, ok := strings.Cut(inner, ": "); ok {
				name = trimMarks(name)
				if name != "" && (contains(attachedLabels, strings.TrimSpace(label)) || inExport(name)) {
					return mediaRef{name: name, marker: first[:end+1]}, true
				}
			}
		}
	}
	// Android: "IMG-20191031-WA0005.jpg (file attached)"
	if strings.HasSuffix(first, ")") {
		if i := strings.LastIndex(first, " ("); i > 0 {
			name, label := trimMarks(first[:i]), first[i+2:len(first)-1]
			if name != "" && (contains(fileAttachedLabels, label) || inExport(name)) {
				return mediaRef{name: name, marker: first}, true
			}
		}
	}
	// Without media: "<Media omitted>", "image omitted", and iOS
	// documents: "Report.pdf • 3 pages <LRM>document omitted".
	clean := strings.TrimSpace(stripMarks(first))
	for mark, kind := range omittedMarks {
		if clean == mark {
			return mediaRef{omitted: kind, marker: mark}, true
		}
		if strings.HasSuffix(clean, " "+mark) && kind == "document" {
			name := strings.TrimSpace(strings.TrimSuffix(clean, mark))
			if i := strings.Index(name, " •"); i > 0 {
				name = name[:i]
			}
			return mediaRef{omitted: kind, name: name, marker: mark}, true
		}
	}
	return mediaRef{}, false
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
