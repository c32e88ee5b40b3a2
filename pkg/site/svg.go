package site

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
)

// Charts and the DAG picture are inline SVG written here, with integer
// coordinates only, so that the bytes are the same on every machine and
// nothing is fetched from anywhere.

// memberCols are the columns a stacked chart draws, in order, with the
// CSS class of their segment.
var memberCols = []struct{ name, class string }{{"daughters", "seg-d"}, {"adults", "seg-a"}, {"guests", "seg-g"}}

const (
	chartLabelW = 170
	chartBarW   = 360
	chartRowH   = 22
	chartBarH   = 16
)

// chartSVG draws t as horizontal bars: one bar per body row, stacked by
// member type or plain; nil when the table has no chart.
func chartSVG(t *Table) template.HTML {
	if t.Chart == NoChart || len(t.Rows) == 0 {
		return ""
	}
	col := func(name string) int {
		for i, c := range t.Cols {
			if c.Name == name {
				return i
			}
		}
		return -1
	}
	label := 0
	for i, c := range t.Cols {
		if c.Header {
			label = i
		}
	}
	var parts []int
	if t.Chart == ChartStacked {
		for _, m := range memberCols {
			parts = append(parts, col(m.name))
		}
	} else {
		parts = []int{col(t.ChartCol)}
	}
	for _, p := range parts {
		if p < 0 {
			return ""
		}
	}
	vals := make([][]int, len(t.Rows))
	max := 0
	for i, r := range t.Rows {
		sum := 0
		for _, p := range parts {
			n, _ := strconv.Atoi(r.Cells[p])
			vals[i] = append(vals[i], n)
			sum += n
		}
		if sum > max {
			max = sum
		}
	}
	if max == 0 {
		max = 1
	}
	legendH := 0
	if t.Chart == ChartStacked {
		legendH = chartRowH
	}
	width := chartLabelW + chartBarW + 60
	height := legendH + len(t.Rows)*chartRowH + 4
	var b strings.Builder
	titleID := t.ID + "-chart-title"
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, titleID, width, height, width, height)
	fmt.Fprintf(&b, `<title id="%s">%s (chart; the table holds the same numbers)</title>`, titleID, esc(t.Heading))
	if t.Chart == ChartStacked {
		x := chartLabelW
		for _, m := range memberCols {
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="4" width="12" height="12"/><text x="%d" y="15">%s</text>`, m.class, x, x+16, m.name)
			x += 100
		}
	}
	for i, r := range t.Rows {
		y := legendH + i*chartRowH
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, chartLabelW-8, y+chartBarH-3, esc(r.Cells[label]))
		x, sum := chartLabelW, 0
		for k, v := range vals[i] {
			w := v * chartBarW / max
			class := "seg-t"
			if t.Chart == ChartStacked {
				class = memberCols[k].class
			}
			if w > 0 {
				fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%d" height="%d"/>`, class, x, y+2, w, chartBarH)
			}
			x += w
			sum += v
		}
		fmt.Fprintf(&b, `<text class="value" x="%d" y="%d">%d</text>`, x+4, y+chartBarH-3, sum)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// dagLayout places the nodes in layers (a node's layer is one more than
// the highest layer of the nodes it reads from) and orders each layer by
// the mean position of its neighbours, a few sweeps down and up, ties by
// the previous order: the usual layered drawing, deterministic because
// every step sorts stably by integers.
type dagLayout struct {
	layer map[string]int
	order [][]string // per layer
	pos   map[string]int
}

func layoutDAG(nodes []Node) *dagLayout {
	l := &dagLayout{layer: map[string]int{}, pos: map[string]int{}}
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
	}
	// nodes come in pipeline order, which is a topological order; a
	// second pass covers a caller that passes another order.
	for pass := 0; pass < len(nodes); pass++ {
		changed := false
		for _, n := range nodes {
			ly := 0
			for _, d := range n.Deps {
				if known[d] && l.layer[d]+1 > ly {
					ly = l.layer[d] + 1
				}
			}
			if l.layer[n.Name] != ly {
				l.layer[n.Name] = ly
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for _, n := range nodes {
		ly := l.layer[n.Name]
		for len(l.order) <= ly {
			l.order = append(l.order, nil)
		}
		l.order[ly] = append(l.order[ly], n.Name)
	}
	up := map[string][]string{}
	down := map[string][]string{}
	for _, n := range nodes {
		for _, d := range n.Deps {
			if known[d] {
				up[n.Name] = append(up[n.Name], d)
				down[d] = append(down[d], n.Name)
			}
		}
	}
	l.renumber()
	sweep := func(ly int, nb map[string][]string) {
		names := l.order[ly]
		key := make(map[string]int, len(names))
		for _, n := range names {
			ns := nb[n]
			if len(ns) == 0 {
				key[n] = l.pos[n] * 1000
				continue
			}
			sum := 0
			for _, m := range ns {
				sum += l.pos[m] * 1000
			}
			key[n] = sum / len(ns)
		}
		sort.SliceStable(names, func(i, j int) bool { return key[names[i]] < key[names[j]] })
		l.renumber()
	}
	for it := 0; it < 4; it++ {
		for ly := 1; ly < len(l.order); ly++ {
			sweep(ly, up)
		}
		for ly := len(l.order) - 2; ly >= 0; ly-- {
			sweep(ly, down)
		}
	}
	return l
}

func (l *dagLayout) renumber() {
	for _, names := range l.order {
		for i, n := range names {
			l.pos[n] = i
		}
	}
}

const (
	dagBoxW = 170
	dagBoxH = 44
	dagGapX = 60
	dagGapY = 16
)

// dagSVG draws the pipeline: a box per node (linking to its description
// on the page) and an arrow from every node to each node that reads its
// outputs.
func dagSVG(nodes []Node) template.HTML {
	if len(nodes) == 0 {
		return ""
	}
	l := layoutDAG(nodes)
	rows := 0
	for _, names := range l.order {
		if len(names) > rows {
			rows = len(names)
		}
	}
	width := len(l.order)*(dagBoxW+dagGapX) - dagGapX + 20
	height := rows*(dagBoxH+dagGapY) - dagGapY + 20
	at := func(n string) (int, int) {
		ly := l.layer[n]
		off := (rows - len(l.order[ly])) * (dagBoxH + dagGapY) / 2
		return 10 + ly*(dagBoxW+dagGapX), 10 + off + l.pos[n]*(dagBoxH+dagGapY)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="dag" role="img" aria-labelledby="dag-title" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, width, height, width, height)
	b.WriteString(`<title id="dag-title">The pipeline's nodes, each linked to the nodes that read its outputs (the list below says the same)</title>`)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>`)
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
	}
	for _, n := range nodes {
		x2, y2 := at(n.Name)
		for _, d := range n.Deps {
			if !known[d] {
				continue
			}
			x1, y1 := at(d)
			x1 += dagBoxW
			y1 += dagBoxH / 2
			y2m := y2 + dagBoxH/2
			mx := (x1 + x2) / 2
			fmt.Fprintf(&b, `<path class="edge" d="M%d,%d C%d,%d %d,%d %d,%d" marker-end="url(#arrow)"/>`, x1, y1, mx, y1, mx, y2m, x2, y2m)
		}
	}
	for _, n := range nodes {
		x, y := at(n.Name)
		kind := n.Stage
		if kind == "" {
			kind = "command"
		}
		fmt.Fprintf(&b, `<a href="#node-%s"><rect class="node vis-%s" x="%d" y="%d" width="%d" height="%d" rx="6"/>`, esc(n.Name), esc(n.Visibility), x, y, dagBoxW, dagBoxH)
		fmt.Fprintf(&b, `<text class="node-name" x="%d" y="%d" text-anchor="middle">%s</text>`, x+dagBoxW/2, y+19, esc(n.Name))
		fmt.Fprintf(&b, `<text class="node-stage" x="%d" y="%d" text-anchor="middle">%s</text></a>`, x+dagBoxW/2, y+35, esc(kind))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
