package site

import (
	"embed"
	"html/template"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:embed templates/*.tmpl assets/site.css assets/site.js
var files embed.FS

// pages are parsed on first use, not at start-up: every bethel command
// links this package, and parsing costs more than bethel's whole no-op.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"cellID":     CellID,
		"chart":      chartSVG,
		"dag":        dagSVG,
		"tableRow":   tableRow,
		"rowCells":   rowCells,
		"changeItem": changeItem,
		"join":       strings.Join,
		"inc":        func(i int) int { return i + 1 },
	}).ParseFS(files, "templates/*.tmpl"))
})

// navItem is one entry of the site navigation.
type navItem struct{ File, Label string }

var nav = []navItem{
	{IndexPage, "Overview"},
	{BethelsPage, "Attendance by bethel"},
	{ProgramPage, "Program"},
	{CorrectionsPage, "Corrections"},
	{PipelinePage, "Pipeline"},
}

// pageData is what every page template gets.
type pageData struct {
	Site  *Site
	File  string
	Title string
	Nav   []navItem
	// Lineage pages load lineage.js and have a lineage panel.
	Lineage bool
	// Page-specific views.
	Corrections *correctionsView
	Grid        *gridView
}

func (s *Site) writeFile(w io.Writer, name string) error {
	switch name {
	case StyleFile, ScriptFile:
		b, err := files.ReadFile("assets/" + name)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case LineageFile:
		return s.Lineage.writeJS(w)
	}
	d := &pageData{Site: s, File: name, Nav: nav, Lineage: true}
	for _, n := range nav {
		if n.File == name {
			d.Title = n.Label
		}
	}
	switch name {
	case ProgramPage:
		if s.Program != nil {
			d.Grid = newGrid(s.Program)
		}
	case CorrectionsPage:
		d.Corrections = newCorrections(s)
	case PipelinePage:
		d.Lineage = false
	}
	return pages().ExecuteTemplate(w, name+".tmpl", d)
}

// cellView is one cell of a rendered table row.
type cellView struct {
	Text    string
	ID      string // data-cell id; empty unless a count
	Header  bool
	Numeric bool
}

// tableRow turns a row into cells, so that the template stays free of
// index arithmetic.
func tableRow(t *Table, r Row) []cellView {
	out := make([]cellView, len(t.Cols))
	for i, c := range t.Cols {
		v := cellView{Header: c.Header, Numeric: c.Numeric}
		if i < len(r.Cells) {
			v.Text = r.Cells[i]
		}
		if c.Count && v.Text != "" {
			v.ID = CellID(t.Path, r.N, c.Name)
		}
		out[i] = v
	}
	return out
}

// rowCells renders the cells of a table row as the "cells" template
// would, escaped the way html/template escapes a value in text and in a
// quoted attribute (htmlEscape): a template action per cell costs several
// reflective calls, and a large event's duplicates table has tens of
// thousands of cells. TestRowCells checks it against the template.
func rowCells(t *Table, r Row) template.HTML {
	var b []byte
	for _, v := range tableRow(t, r) {
		switch {
		case v.ID != "":
			b = append(b, `<td class="count" data-cell="`...)
			b = htmlEscape(b, v.ID)
			b = append(b, `"><button type="button" class="why">`...)
			b = htmlEscape(b, v.Text)
			b = append(b, `</button></td>`...)
		case v.Header:
			b = append(b, `<th scope="row">`...)
			b = htmlEscape(b, v.Text)
			b = append(b, `</th>`...)
		default:
			b = append(b, `<td`...)
			if v.Numeric {
				b = append(b, ` class="num"`...)
			}
			b = append(b, '>')
			b = htmlEscape(b, v.Text)
			b = append(b, `</td>`...)
		}
	}
	return template.HTML(b)
}

// changeItem renders one change of a patch as the "change" template
// would (TestChangeItem checks it).
func changeItem(c Change) template.HTML {
	b := append([]byte(nil), "<li><code>"...)
	b = htmlEscape(b, c.Key)
	b = append(b, "</code> "...)
	switch {
	case c.Op == "drop":
		b = append(b, "dropped"...)
	case c.Withheld:
		b = htmlEscape(b, c.Field)
		b = append(b, ": value withheld (sensitive field)"...)
	case c.Op == "add":
		b = htmlEscape(b, c.Field)
		b = append(b, " = “"...)
		b = htmlEscape(b, c.New)
		b = append(b, "”"...)
	default:
		b = htmlEscape(b, c.Field)
		b = append(b, ": “"...)
		b = htmlEscape(b, c.Old)
		b = append(b, "” → “"...)
		b = htmlEscape(b, c.New)
		b = append(b, "”"...)
	}
	return template.HTML(append(b, "</li>"...))
}

// htmlEscape appends s escaped as html/template escapes a string in HTML
// text or a quoted attribute value: NUL, quotes, &, +, < and > replaced
// byte by byte (every other byte, of valid UTF-8 or not, is kept).
func htmlEscape(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, repl...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// gridView is the program as days × rooms, each cell the sessions held
// there that day in time order.
type gridView struct {
	Rooms []Room
	Days  []gridDay
}

type gridDay struct {
	Day   Day
	Cells [][]Session // per room
}

func newGrid(p *Program) *gridView {
	g := &gridView{Rooms: p.Rooms}
	roomIdx := map[string]int{}
	for i, r := range p.Rooms {
		roomIdx[r.Name] = i
	}
	for _, s := range p.Sessions {
		if _, ok := roomIdx[s.Room]; !ok {
			roomIdx[s.Room] = len(g.Rooms)
			g.Rooms = append(g.Rooms, Room{Name: s.Room, Capacity: s.Capacity})
		}
	}
	dayIdx := map[string]int{}
	for _, d := range p.Days {
		dayIdx[d.Name] = len(g.Days)
		g.Days = append(g.Days, gridDay{Day: d})
	}
	for _, s := range p.Sessions {
		if _, ok := dayIdx[s.Day]; !ok {
			dayIdx[s.Day] = len(g.Days)
			g.Days = append(g.Days, gridDay{Day: Day{Name: s.Day}})
		}
	}
	for i := range g.Days {
		g.Days[i].Cells = make([][]Session, len(g.Rooms))
	}
	for _, s := range p.Sessions {
		d := &g.Days[dayIdx[s.Day]]
		d.Cells[roomIdx[s.Room]] = append(d.Cells[roomIdx[s.Room]], s)
	}
	return g
}

// correctionsView orders the log: patches that fail the build first, then
// every file's patches in file order.
type correctionsView struct {
	Attention []Patch
	Files     []PatchFile
	// Links maps a data-cell id to the page and table showing it.
	Links map[string]string
	Total int
}

func newCorrections(s *Site) *correctionsView {
	v := &correctionsView{Links: s.cellPages()}
	if s.Corrections == nil {
		return v
	}
	for _, f := range s.Corrections.Files {
		v.Total += len(f.Patches)
		for _, p := range f.Patches {
			if p.Attention() {
				v.Attention = append(v.Attention, p)
			}
		}
	}
	v.Files = append(v.Files, s.Corrections.Files...)
	att := func(f PatchFile) bool {
		for _, p := range f.Patches {
			if p.Attention() {
				return true
			}
		}
		return false
	}
	sort.SliceStable(v.Files, func(i, j int) bool { return att(v.Files[i]) && !att(v.Files[j]) })
	return v
}

// CellLink returns where a cell is shown, for the corrections log.
func (v *correctionsView) CellLink(id string) string { return v.Links[id] }
