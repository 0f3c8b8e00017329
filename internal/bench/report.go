package bench

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run produced: where and how it ran, and one
// Result per workload.
type Report struct {
	Date        time.Time `json:"date"`
	Command     string    `json:"command"`
	Server      string    `json:"server"` // what was measured, e.g. "latch (spawned child, sqlite, ES256)"
	Issuer      string    `json:"issuer"`
	Alg         string    `json:"alg,omitempty"`
	Store       string    `json:"store,omitempty"`
	Concurrency int       `json:"concurrency"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup,omitempty"`
	GoVersion   string    `json:"go_version"`
	OS          string    `json:"os"`
	CPUs        int       `json:"cpus"`
	CPUModel    string    `json:"cpu_model,omitempty"`
	// LoadBefore is the load average (1, 5, 15 min) before the run, i.e.
	// what else the machine was doing; LoadAfter includes the run itself.
	LoadBefore [3]float64 `json:"load_average_before"`
	LoadAfter  [3]float64 `json:"load_average_after"`
	// IdleRSSBytes is the spawned server's resident set before the first
	// workload (0 when the server was not spawned as a child).
	IdleRSSBytes int64    `json:"idle_rss_bytes,omitempty"`
	Results      []Result `json:"results"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the results table for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	server := r.hasServerUsage()
	head := "workload\t\tops/s\tp50\tp95\tp99\terrors\t"
	if server {
		head += "server CPU s\tcores\tCPU/op\tpeak RSS\t"
	}
	head += "bench cores\tload\t"
	fmt.Fprintln(tw, head)
	for _, res := range r.Results {
		if res.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\tskipped: %s\t\n", res.ID, res.Name, res.Skipped)
			continue
		}
		line := fmt.Sprintf("%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t", res.ID, res.Name, res.OpsPerSec,
			fmtMS(res.P50MS), fmtMS(res.P95MS), fmtMS(res.P99MS), res.Errors)
		if server {
			if u := res.Server; u != nil {
				line += fmt.Sprintf("%.1f\t%.2f\t%s\t%s\t", u.CPUSeconds, u.CPUCores, fmtMS(u.CPUPerOpUS/1000), fmtBytes(u.PeakRSSBytes))
			} else {
				line += "-\t-\t-\t-\t"
			}
		}
		line += fmt.Sprintf("%.2f\t%.2f\t", res.ClientCPUCores, res.LoadAverage)
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		for _, e := range res.ErrorSamples {
			fmt.Fprintf(w, "%s error: %s\n", res.ID, e)
		}
	}
	if r.IdleRSSBytes > 0 {
		fmt.Fprintf(w, "server idle RSS before the first workload: %s\n", fmtBytes(r.IdleRSSBytes))
	}
	fmt.Fprintf(w, "load average before %.2f %.2f %.2f, after %.2f %.2f %.2f (%d CPUs)\n",
		r.LoadBefore[0], r.LoadBefore[1], r.LoadBefore[2], r.LoadAfter[0], r.LoadAfter[1], r.LoadAfter[2], r.CPUs)
	return nil
}

func (r *Report) hasServerUsage() bool {
	for _, res := range r.Results {
		if res.Server != nil {
			return true
		}
	}
	return false
}

func fmtBytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// WriteHTML writes a self-contained HTML page: the run's settings, the
// results table and one latency histogram per workload, drawn as inline
// SVG. It loads nothing (no script, no style sheet, no font, no image).
func (r *Report) WriteHTML(w io.Writer) error {
	type chart struct {
		Result Result
		SVG    template.HTML
	}
	var charts []chart
	for _, res := range r.Results {
		if res.Skipped != "" {
			continue
		}
		charts = append(charts, chart{Result: res, SVG: template.HTML(histogramSVG(res))})
	}
	return reportTmpl.Execute(w, struct {
		R      *Report
		Charts []chart
		Server bool
	}{r, charts, r.hasServerUsage()})
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":    fmtMS,
	"bytes": fmtBytes,
	"f0":    func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"us":    func(v float64) float64 { return v / 1000 },
	"f2":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"date":  func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>latch bench — {{.R.Server}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin:2rem 0 .25rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #d8dee4;text-align:right;white-space:nowrap}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
code{font-size:.9em;background:#f3f4f6;padding:.1em .3em;border-radius:3px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}dt{color:#57606a}dd{margin:0}
.err{color:#b42318}.muted{color:#57606a}svg{max-width:100%;height:auto}
</style>
</head>
<body>
<h1>latch bench</h1>
<p class="muted">{{date .R.Date}}</p>
<dl>
<dt>server</dt><dd>{{.R.Server}}</dd>
<dt>issuer</dt><dd><code>{{.R.Issuer}}</code></dd>
{{if .R.Alg}}<dt>signing alg</dt><dd>{{.R.Alg}}</dd>{{end}}
{{if .R.Store}}<dt>store</dt><dd>{{.R.Store}}</dd>{{end}}
<dt>concurrency</dt><dd>{{.R.Concurrency}}</dd>
<dt>duration</dt><dd>{{.R.Duration}} per workload{{if .R.Warmup}} after {{.R.Warmup}} warm-up{{end}}</dd>
<dt>machine</dt><dd>{{.R.CPUs}} CPUs{{if .R.CPUModel}}, {{.R.CPUModel}}{{end}}; {{.R.OS}}, {{.R.GoVersion}}</dd>
<dt>load average</dt><dd>before {{f2 (index .R.LoadBefore 0)}} {{f2 (index .R.LoadBefore 1)}} {{f2 (index .R.LoadBefore 2)}}; after {{f2 (index .R.LoadAfter 0)}} {{f2 (index .R.LoadAfter 1)}} {{f2 (index .R.LoadAfter 2)}}</dd>
{{if .R.IdleRSSBytes}}<dt>idle RSS</dt><dd>{{bytes .R.IdleRSSBytes}}</dd>{{end}}
<dt>command</dt><dd><code>{{.R.Command}}</code></dd>
</dl>
<div class="scroll"><table>
<thead><tr><th>workload</th><th></th><th>ops/s</th><th>p50</th><th>p95</th><th>p99</th><th>errors</th>{{if .Server}}<th>server CPU s</th><th>cores</th><th>CPU/op</th><th>peak RSS</th>{{end}}<th>bench cores</th><th>load</th></tr></thead>
<tbody>
{{range .R.Results}}<tr><td>{{.ID}}</td><td>{{.Name}}</td>{{if .Skipped}}<td colspan="{{if $.Server}}11{{else}}7{{end}}" class="err">skipped: {{.Skipped}}</td>{{else}}<td>{{f0 .OpsPerSec}}</td><td>{{ms .P50MS}}</td><td>{{ms .P95MS}}</td><td>{{ms .P99MS}}</td><td{{if .Errors}} class="err"{{end}}>{{.Errors}}</td>{{if $.Server}}{{with .Server}}<td>{{printf "%.1f" .CPUSeconds}}</td><td>{{f2 .CPUCores}}</td><td>{{ms (us .CPUPerOpUS)}}</td><td>{{bytes .PeakRSSBytes}}</td>{{else}}<td>-</td><td>-</td><td>-</td><td>-</td>{{end}}{{end}}<td>{{f2 .ClientCPUCores}}</td><td>{{f2 .LoadAverage}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{range .Charts}}
<h2>{{.Result.ID}} {{.Result.Name}}</h2>
<p class="muted">{{.Result.Description}}. {{.Result.Ops}} operations in {{printf "%.1f" .Result.Seconds}} s; mean {{ms .Result.MeanMS}}, max {{ms .Result.MaxMS}}.</p>
{{.SVG}}
{{range .Result.ErrorSamples}}<p class="err">error: {{.}}</p>{{end}}
{{end}}
</body>
</html>
`))

// histogramSVG draws a workload's latency histogram: log-scaled latency
// on x, share of operations on y, with p50, p95 and p99 marked.
func histogramSVG(res Result) string {
	const (
		W, H                   = 720, 260
		left, right, top, bott = 56, 16, 40, 40
	)
	bins := res.Histogram
	if len(bins) == 0 {
		return ""
	}
	pw, ph := float64(W-left-right), float64(H-top-bott)
	lo, hi := float64(max(bins[0].Lo, 1)), float64(max(bins[len(bins)-1].Hi, bins[0].Lo+1))
	if hi <= lo {
		hi = lo * 2
	}
	x := func(ns float64) float64 {
		ns = math.Min(math.Max(ns, lo), hi)
		return float64(left) + pw*math.Log(ns/lo)/math.Log(hi/lo)
	}
	var total, peak uint64
	for _, b := range bins {
		total += b.Count
		peak = max(peak, b.Count)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="latency histogram of %s">`,
		W, H, W, H, template.HTMLEscapeString(res.ID))
	fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="#f6f8fa"/>`, left, top, pw, ph)
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		x0, x1 := x(float64(b.Lo)), x(float64(b.Hi))
		h := ph * float64(b.Count) / float64(peak)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b82f6"><title>%s – %s: %d (%.1f%%)</title></rect>`,
			x0, float64(top)+ph-h, math.Max(x1-x0-1, 1), h,
			fmtMS(ms(b.Lo)), fmtMS(ms(b.Hi)), b.Count, 100*float64(b.Count)/float64(total))
	}
	for _, m := range []struct {
		name string
		v    float64
		c    string
	}{{"p50", res.P50MS, "#16a34a"}, {"p95", res.P95MS, "#d97706"}, {"p99", res.P99MS, "#dc2626"}} {
		px := x(m.v * float64(time.Millisecond))
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="1.5" stroke-dasharray="4 3"/>`, px, px, top, top+int(ph), m.c)
	}
	// The percentiles' legend sits above the plot, where bars never are.
	lx := float64(left)
	for _, m := range []struct {
		name string
		v    float64
		c    string
	}{{"p50", res.P50MS, "#16a34a"}, {"p95", res.P95MS, "#d97706"}, {"p99", res.P99MS, "#dc2626"}} {
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="16" y2="16" stroke="%s" stroke-width="1.5" stroke-dasharray="4 3"/>`, lx, lx+18, m.c)
		fmt.Fprintf(&sb, `<text x="%.1f" y="20" font-size="12" fill="%s">%s %s</text>`, lx+22, m.c, m.name, fmtMS(m.v))
		lx += 130
	}
	// x axis ticks at 1-2-5 steps.
	for _, t := range ticks(lo, hi) {
		px := x(t)
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#57606a"/>`, px, px, top+int(ph), top+int(ph)+4)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="11" fill="#57606a" text-anchor="middle">%s</text>`, px, top+int(ph)+16, fmtMS(t/float64(time.Millisecond)))
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" fill="#57606a" text-anchor="middle">latency (log scale)</text>`, left+int(pw)/2, H-6)
	fmt.Fprintf(&sb, `<text x="12" y="%d" font-size="11" fill="#57606a" transform="rotate(-90 12 %d)" text-anchor="middle">operations</text>`, top+int(ph)/2, top+int(ph)/2)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" fill="#57606a" text-anchor="end">%d</text>`, left-4, top+10, peak)
	sb.WriteString(`</svg>`)
	return sb.String()
}

// ticks returns 1-2-5 values (ns) between lo and hi.
func ticks(lo, hi float64) []float64 {
	var out []float64
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := p * m; v >= lo && v <= hi {
				out = append(out, v)
			}
		}
	}
	if len(out) > 12 { // a wide range: keep the powers of ten
		var dec []float64
		for _, v := range out {
			if l := math.Log10(v); l == math.Floor(l) {
				dec = append(dec, v)
			}
		}
		out = dec
	}
	return out
}
