package scheduler

import (
	"testing"
)

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"model==gpu", "public!=yes", "zone==~us-*", "node==n1|n2", "x==/(?i)^a.*$/",
		"a==", "==b", "a=b", "a==/b", "a==b||c", "k!=~/x/", "a===b", "container==*redis*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []Kind{KindConstraint, KindAffinity, KindWhitelist} {
			e, err := ParseExpr(kind, s)
			if err != nil {
				if _, ok := err.(*ExprError); !ok {
					t.Fatalf("error is %T, want *ExprError", err)
				}
				continue
			}
			again, err := ParseExpr(kind, e.String())
			if err != nil {
				t.Fatalf("%q printed as %q which does not parse: %v", s, e.String(), err)
			}
			if again.String() != e.String() || again.Key != e.Key || again.Op != e.Op ||
				again.Value != e.Value || again.Soft != e.Soft {
				t.Fatalf("%q: round trip %q -> %q", s, e.String(), again.String())
			}
			e.Match(s)
			e.Literals()
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "80/tcp", "53/udp", "10.0.0.1:80", "[::1]:8080/sctp", "0.0.0.0:1",
		"65536", "x:80", "[::ffff:1.2.3.4]:9/udp", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePort(s)
		if err != nil {
			if _, ok := err.(*ExprError); !ok {
				t.Fatalf("error is %T, want *ExprError", err)
			}
			return
		}
		again, err := ParsePort(p.String())
		if err != nil {
			t.Fatalf("%q printed as %q which does not parse: %v", s, p.String(), err)
		}
		if again != p {
			t.Fatalf("%q: round trip %+v -> %q -> %+v", s, p, p.String(), again)
		}
	})
}
