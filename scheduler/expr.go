package scheduler

import (
	"fmt"
	"regexp"
	"strings"
)

// Op is an expression's comparison operator.
type Op int

const (
	// OpEq passes when any candidate value matches the pattern.
	OpEq Op = iota
	// OpNe passes when no candidate value matches the pattern.
	OpNe
)

// String returns the operator as users write it.
func (o Op) String() string {
	if o == OpNe {
		return "!="
	}
	return "=="
}

// Kind says where an expression applies.
type Kind int

const (
	// KindConstraint expressions match the node: its name or ID ("node")
	// or its engine labels.
	KindConstraint Kind = iota
	// KindAffinity expressions match what the node holds: containers
	// ("container"), images ("image") or container labels (any other key).
	KindAffinity
	// KindWhitelist expressions restrict placement to named nodes.
	KindWhitelist
)

// String returns the prefix users write in the environment.
func (k Kind) String() string {
	switch k {
	case KindAffinity:
		return "affinity"
	case KindWhitelist:
		return "whitelist"
	}
	return "constraint"
}

// ExprError is a user error in a request: a malformed expression, label
// or port binding. The API answers it with HTTP 400. Detect it with
// errors.As.
type ExprError struct {
	// What names the kind of input: "constraint", "affinity", "whitelist",
	// "label com.docker.swarm.constraints", "port binding", "volumes-from"…
	What string
	// Expr is the offending text as the user wrote it.
	Expr string
	// Reason says what is wrong and how to fix it.
	Reason string
}

// Error implements error.
func (e *ExprError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.What, e.Expr, e.Reason)
}

// Expr is one parsed placement expression, e.g. `model==~gpu*`.
// Values are immutable after parsing and safe for concurrent use.
type Expr struct {
	Kind Kind
	Key  string
	Op   Op
	// Value is the pattern as written, without the soft marker "~".
	Value string
	// Soft expressions are dropped when nothing fits with them.
	Soft bool

	// re is set for /regex/ values; alts otherwise (split on '|').
	re   *regexp.Regexp
	alts []glob
	// text caches String, which filters use as their reason.
	text string
}

// glob is one anchored alternative. A literal has lit set and no parts;
// otherwise parts are the literal runs between '*' wildcards.
type glob struct {
	lit   string
	parts []string
}

// literal reports whether the alternative has no wildcard.
func (g glob) literal() bool { return g.parts == nil }

// needle is the glob's longest literal run, the text a sweep looks for;
// "" when the glob is only wildcards.
func (g glob) needle() string {
	needle := ""
	for _, p := range g.parts {
		if len(p) > len(needle) {
			needle = p
		}
	}
	return needle
}

// Reasons a parse fails; the expression itself is added by ExprError.
const (
	reasonBadOperator  = "bad operator: write key==value or key!=value (a value starting with ~ is soft)"
	reasonMissingKey   = "missing key before the operator"
	reasonBadKey       = "bad key: keys may contain only letters, digits and . - _ /"
	reasonMissingValue = "missing value after the operator (to match a missing label use /^$/)"
	reasonUnterminated = "unterminated regular expression: a value starting with / must end with /"
	reasonEmptyAlt     = "empty alternative: write a|b, not a||b or a trailing |"
	reasonWhitelistKey = "whitelist accepts only the key node (whitelist:node==n1|n2)"
)

// ParseExpr parses one expression of the given kind. The text is what
// follows "constraint:", "affinity:" or "whitelist:". The error is an
// *ExprError.
func ParseExpr(kind Kind, text string) (*Expr, error) {
	fail := func(reason string) (*Expr, error) {
		return nil, &ExprError{What: kind.String(), Expr: text, Reason: reason}
	}
	i, op := findOperator(text)
	if i < 0 {
		return fail(reasonBadOperator)
	}
	key := strings.TrimSpace(text[:i])
	value := strings.TrimSpace(text[i+2:])
	if key == "" {
		return fail(reasonMissingKey)
	}
	if !validKey(key) {
		return fail(reasonBadKey)
	}
	if kind == KindWhitelist && key != "node" {
		return fail(reasonWhitelistKey)
	}
	e := &Expr{Kind: kind, Key: key, Op: op}
	if strings.HasPrefix(value, "~") {
		e.Soft = true
		value = value[1:]
	}
	if strings.HasPrefix(value, "=") {
		return fail(reasonBadOperator)
	}
	if value == "" {
		return fail(reasonMissingValue)
	}
	e.Value = value
	if strings.HasPrefix(value, "/") {
		if len(value) < 2 || !strings.HasSuffix(value, "/") {
			return fail(reasonUnterminated)
		}
		re, err := regexp.Compile(value[1 : len(value)-1])
		if err != nil {
			return fail("bad regular expression: " + err.Error())
		}
		e.re = re
		e.text = e.format()
		return e, nil
	}
	e.alts = make([]glob, 0, strings.Count(value, "|")+1)
	for rest := value; ; {
		alt, more, found := strings.Cut(rest, "|")
		if alt == "" {
			return fail(reasonEmptyAlt)
		}
		if strings.Contains(alt, "*") {
			e.alts = append(e.alts, glob{parts: strings.Split(alt, "*")})
		} else {
			e.alts = append(e.alts, glob{lit: alt})
		}
		if !found {
			break
		}
		rest = more
	}
	e.text = e.format()
	return e, nil
}

// findOperator returns the index of the first "==" or "!=" and which.
func findOperator(s string) (int, Op) {
	eq := strings.Index(s, "==")
	ne := strings.Index(s, "!=")
	switch {
	case eq < 0 && ne < 0:
		return -1, OpEq
	case ne < 0 || (eq >= 0 && eq < ne):
		return eq, OpEq
	default:
		return ne, OpNe
	}
}

func validKey(k string) bool {
	for _, r := range k {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_' || r == '/'
		if !ok {
			return false
		}
	}
	return true
}

// String prints the expression so that ParseExpr reads it back unchanged.
func (e *Expr) String() string {
	if e.text != "" {
		return e.text
	}
	return e.format()
}

func (e *Expr) format() string {
	soft := ""
	if e.Soft {
		soft = "~"
	}
	return e.Key + e.Op.String() + soft + e.Value
}

// Hard returns a copy of e with Soft cleared.
func (e *Expr) Hard() *Expr {
	h := *e
	h.Soft = false
	h.text = h.format()
	return &h
}

// Holds applies the operator to whether any candidate value matched:
// == needs a match, != needs none.
func (e *Expr) Holds(anyMatched bool) bool {
	if e.Op == OpNe {
		return !anyMatched
	}
	return anyMatched
}

// Match reports whether the pattern (ignoring the operator) matches v.
func (e *Expr) Match(v string) bool {
	if e.re != nil {
		return e.re.MatchString(v)
	}
	for _, g := range e.alts {
		if g.match(v) {
			return true
		}
	}
	return false
}

// Literals returns the alternatives when the pattern has no wildcard and
// is not a regular expression, so an index can look them up directly.
func (e *Expr) Literals() ([]string, bool) {
	if e.re != nil {
		return nil, false
	}
	for _, g := range e.alts {
		if !g.literal() {
			return nil, false
		}
	}
	out := make([]string, len(e.alts))
	for k, g := range e.alts {
		out[k] = g.lit
	}
	return out, true
}

// match reports whether v matches the anchored glob.
func (g glob) match(v string) bool {
	if g.literal() {
		return v == g.lit
	}
	p := g.parts
	if !strings.HasPrefix(v, p[0]) {
		return false
	}
	v = v[len(p[0]):]
	last := p[len(p)-1]
	for _, mid := range p[1 : len(p)-1] {
		i := strings.Index(v, mid)
		if i < 0 {
			return false
		}
		v = v[i+len(mid):]
	}
	return len(v) >= len(last) && strings.HasSuffix(v, last)
}
