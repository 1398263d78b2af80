package lambda

import "testing"

func TestParseFunctionName(t *testing.T) {
	for _, c := range []struct {
		in, name, qual string
		bad            bool
	}{
		{"fn", "fn", "", false},
		{"fn:$LATEST", "fn", "$LATEST", false},
		{"fn:3", "fn", "3", false},
		{"123456789012:function:fn", "fn", "", false},
		{"123456789012:function:fn:alias", "fn", "alias", false},
		{"function:fn", "fn", "", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn", "fn", "", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", "fn", "$LATEST", false},
		{"", "", "", true},
		{"has space", "", "", true},
		{"arn:aws:lambda:us-east-1:123456789012:layer:x", "", "", true},
		{string(make([]byte, 65)), "", "", true},
	} {
		r, err := parseFunctionName(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseFunctionName(%q) = %+v, want an error", c.in, r)
			}
			continue
		}
		if err != nil || r.Name != c.name || r.Qualifier != c.qual {
			t.Errorf("parseFunctionName(%q) = %+v, %v; want %s %s", c.in, r, err, c.name, c.qual)
		}
	}
}

func TestEntryPath(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{"a.py", "a.py", false},
		{"dir/", "dir", false},
		{"a/../b.py", "b.py", false},
		{"../x", "", true},
		{"a/../../x", "", true},
		{"/etc/passwd", "", true},
		{`..\x`, "", true},
	} {
		got, err := entryPath(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("entryPath(%q) = %q, %v", c.in, got, err)
		}
	}
}
