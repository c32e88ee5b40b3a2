package stages

import (
	"context"
	"fmt"
	"strings"

	"bethel/pkg/stage"
)

// summaryDietary writes out/summary/dietary.csv:
// `category,daughters,adults,guests,total`: how many active registrations
// fall in each configured dietary or allergy category. The free text of
// dietary_needs and allergies is sensitive and never leaves the stage:
// only the configured category names and counts are written.
//
// Params:
//
//	[node.params.categories]            # category = [keywords]
//	"gluten free" = ["gluten", "celiac"]
//	"nut allergy" = ["peanut", "tree nut"]
//
// A registration is counted in every category one of whose keywords occurs
// (case-insensitively) in its dietary_needs or allergies text; a
// registration can count in several. Rows: the categories by name, then
// `unclassified` (text that matches no keyword: a hint to add one; the
// stage warns with the count) and `any` (registrations with any text).
//
// Inputs: the normalized registrations, config/privacy.toml.
type summaryDietary struct{}

func init() { register(summaryDietary{}) }

func (summaryDietary) Name() string    { return "summary.dietary" }
func (summaryDietary) Version() string { return "1" }

func (summaryDietary) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, "dietary.csv")
	if err != nil {
		return err
	}
	cats, err := dietaryCategories(r)
	if err != nil {
		return err
	}
	fields := []string{"dietary_needs", "allergies", "member_type"}
	if err := checkAggregate(r, out, nil, []string{"category", "daughters", "adults", "guests", "total"}, fields); err != nil {
		return err
	}
	rr, rowIdx, err := readRegistrations(ctx, r, "registration_id", "dietary_needs", "allergies", "member_type")
	if err != nil {
		return err
	}
	keys := append(sortedKeys(cats), "unclassified", "any")
	t := newCountTable(keys, tracking(r, out))
	ids, dn, al, mts := rr.col("registration_id"), rr.col("dietary_needs"), rr.col("allergies"), rr.col("member_type")
	names := sortedKeys(cats)
	members := memberOf(mts)
	// The table rows a pair of texts counts in, found once per distinct
	// pair: most registrations share a handful of texts (or none).
	rowsOf := map[[2]string][]int{}
	classify := func(need, allergy string) []int {
		text := strings.ToLower(need + "\n" + allergy)
		var rows []int
		for _, c := range names {
			for _, kw := range cats[c] {
				if strings.Contains(text, kw) {
					rows = append(rows, t.pos[c])
					break
				}
			}
		}
		if len(rows) == 0 {
			rows = append(rows, t.pos["unclassified"])
		}
		return append(rows, t.pos["any"])
	}
	for i := 0; i < rr.n; i++ {
		m, ok := members.at(i)
		if !ok {
			return badMember(rr, i, ids.at(i), mts.at(i))
		}
		need, allergy := dn.at(i), al.at(i)
		if need == "" && allergy == "" {
			continue
		}
		k := [2]string{need, allergy}
		rows, seen := rowsOf[k]
		if !seen {
			rows = classify(need, allergy)
			rowsOf[k] = rows
		}
		for _, ti := range rows {
			t.addAt(ti, m, rowIdx[i])
		}
	}
	if n := t.counts[t.pos["unclassified"]]; n[0]+n[1]+n[2] > 0 {
		r.Warnf("%d registrations have dietary or allergy text that no category keyword matches (counted as unclassified; add keywords to the node's params.categories)", n[0]+n[1]+n[2])
	}
	describe := func(k string) string {
		switch k {
		case "unclassified":
			return "dietary_needs or allergies not empty and matching no category keyword"
		case "any":
			return "dietary_needs or allergies not empty"
		}
		return fmt.Sprintf("dietary_needs or allergies containing one of %q (category %s)", cats[k], k)
	}
	return writeMemberTable(r, out, "category", t, func(k string) []string { return []string{k} }, nil, false, rr.file, fields, describe)
}

// dietaryCategories reads params.categories: category -> keywords.
func dietaryCategories(r *stage.Run) (map[string][]string, error) {
	raw, ok := r.Params["categories"]
	if !ok {
		return nil, fmt.Errorf("node %s: stage summary.dietary needs params.categories (category = [keywords])", r.Node)
	}
	tab, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("node %s: params.categories must be a table of category = [keywords]", r.Node)
	}
	cats := map[string][]string{}
	for _, c := range sortedKeys(tab) {
		if c == "unclassified" || c == "any" {
			return nil, fmt.Errorf("node %s: params.categories: %q is a reserved row name", r.Node, c)
		}
		l, ok := tab[c].([]any)
		if !ok || len(l) == 0 {
			return nil, fmt.Errorf("node %s: params.categories.%s must be a non-empty array of keywords", r.Node, c)
		}
		for _, v := range l {
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("node %s: params.categories.%s: keywords are non-empty strings", r.Node, c)
			}
			cats[c] = append(cats[c], strings.ToLower(strings.TrimSpace(s)))
		}
	}
	return cats, nil
}
