package teams_test

import (
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkFetchTask measures the answer to "File as record" on a channel
// reply, end to end over HTTP: the token checked (keys cached), the
// membership checked and the form built. Teams allows 5 seconds.
func BenchmarkFetchTask(b *testing.B) {
	e, _ := channelEnv(b)
	act := e.activity("", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", ""))
	auth := "Bearer " + e.cx.Sign(b, e.cx.Claims(e.clock.Now()))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		act["id"] = "b:" + strconv.Itoa(i)
		if status, body := e.postToken(act, auth); status != http.StatusOK {
			b.Fatalf("answered %d %s", status, body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/answer")
}
