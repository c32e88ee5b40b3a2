package lazyre

import "testing"

func TestNew(t *testing.T) {
	tests := []struct {
		expr, in string
		want     bool
	}{
		{`^[0-9]+$`, "123", true},
		{`^[0-9]+$`, "12a", false},
		{`(?i)^bethel\s`, "BETHEL 7", true},
	}
	for _, tt := range tests {
		re := New(tt.expr)
		if got := re().MatchString(tt.in); got != tt.want {
			t.Errorf("New(%q)().MatchString(%q) = %v, want %v", tt.expr, tt.in, got, tt.want)
		}
		if re() != re() {
			t.Errorf("New(%q): two calls compiled twice", tt.expr)
		}
	}
}

func TestNewPanicsOnFirstUse(t *testing.T) {
	re := New(`(`) // declaring a bad expression compiles nothing yet
	defer func() {
		if recover() == nil {
			t.Error("New(`(`)() did not panic")
		}
	}()
	re()
}
