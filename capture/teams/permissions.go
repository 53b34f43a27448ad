package teams

// Permissions are the resource-specific consent (RSC) permissions, all of
// type Application, that this source's Graph calls need; the Teams app
// package declares exactly these
// (https://learn.microsoft.com/microsoftteams/platform/graph-api/rsc/resource-specific-consent,
// "Supported RSC permissions"). None ends in ".All": no tenant-wide
// permission and no protected-API approval is asked for.
var Permissions = []string{
	// Team: channel messages and replies with their inline images.
	"ChannelMessage.Read.Group",
	// Team: a channel's name and membership type (standard, private,
	// shared), to know whose membership to check.
	"ChannelSettings.Read.Group",
	// Team: its members, for the check on a standard channel.
	"TeamMember.Read.Group",
	// Team: a private or shared channel's members (and allMembers).
	"ChannelMember.Read.Group",
	// Group or meeting chat: its messages with their inline images.
	"ChatMessage.Read.Chat",
	// Group or meeting chat: its topic and type (to refuse one-to-one).
	"ChatSettings.Read.Chat",
	// Group or meeting chat: its members, for the check.
	"ChatMember.Read.Chat",
}

// DelegatedPermissions are the Graph delegated permissions a person grants
// (through the sign-in card) so that files shared in Teams, which live in
// SharePoint or OneDrive and which RSC does not reach, are fetched as them
// through /shares/{id}/driveItem/content. Files.Read.All is read-only and
// reaches every file the person can read. The reference page
// (https://learn.microsoft.com/graph/api/shares-get) lists Files.ReadWrite
// first, because that API can also redeem a sharing link for good
// (Prefer: redeemSharingLink), which recordbot never asks; if a tenant
// refuses a read-only token there, this is the permission to revisit.
var DelegatedPermissions = []string{"Files.Read.All"}
