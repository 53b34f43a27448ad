package mattermost

import "testing"

// What a person typed (a title, a chat's name) is shown as typed: markdown
// in it does not make a link or change the emphasis.
func TestMarkdownEscapesWhatPeopleTyped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ got, want string }{
		{markdown{}.Bold("[click](https://evil.example)"), `**\[click\](https://evil.example)**`},
		{markdown{}.Bold("a**b_c"), `**a\*\*b\_c**`},
		{markdown{}.Link("https://mm.example/pl/1", "see [here]"), `[see \[here\]](https://mm.example/pl/1)`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
