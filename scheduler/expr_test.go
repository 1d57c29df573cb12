package scheduler

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseExpr(t *testing.T) {
	tests := []struct {
		text  string
		key   string
		op    Op
		value string
		soft  bool
	}{
		{"model==gpu", "model", OpEq, "gpu", false},
		{"public!=yes", "public", OpNe, "yes", false},
		{"zone==~us-*", "zone", OpEq, "us-*", true},
		{"zone!=~/eu-.*/", "zone", OpNe, "/eu-.*/", true},
		{" node == n1|n2 ", "node", OpEq, "n1|n2", false},
		{"com.example/role==db", "com.example/role", OpEq, "db", false},
		{"a==b!=c", "a", OpEq, "b!=c", false},
		{"a!=b==c", "a", OpNe, "b==c", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			e, err := ParseExpr(KindConstraint, tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.key, e.Key)
			assert.Equal(t, tt.op, e.Op)
			assert.Equal(t, tt.value, e.Value)
			assert.Equal(t, tt.soft, e.Soft)
			again, err := ParseExpr(KindConstraint, e.String())
			require.NoError(t, err)
			assert.Equal(t, e.String(), again.String())
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		kind   Kind
		text   string
		reason string
	}{
		{KindConstraint, "model=gpu", reasonBadOperator},
		{KindConstraint, "model>=gpu", reasonBadOperator},
		{KindConstraint, "model===gpu", reasonBadOperator},
		{KindConstraint, "model", reasonBadOperator},
		{KindConstraint, "==gpu", reasonMissingKey},
		{KindConstraint, "mo del==gpu", reasonBadKey},
		{KindConstraint, "mod$el==gpu", reasonBadKey},
		{KindConstraint, "model==", reasonMissingValue},
		{KindConstraint, "model==~", reasonMissingValue},
		{KindConstraint, "model==/gpu", reasonUnterminated},
		{KindConstraint, "model==/", reasonUnterminated},
		{KindAffinity, "container==a||b", reasonEmptyAlt},
		{KindAffinity, "container==a|", reasonEmptyAlt},
		{KindWhitelist, "zone==a", reasonWhitelistKey},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := ParseExpr(tt.kind, tt.text)
			var ee *ExprError
			require.True(t, errors.As(err, &ee), "want *ExprError, got %v", err)
			assert.Equal(t, tt.reason, ee.Reason)
			assert.Equal(t, tt.text, ee.Expr)
			assert.Equal(t, tt.kind.String(), ee.What)
			assert.Contains(t, err.Error(), tt.text)
		})
	}
	t.Run("bad regex", func(t *testing.T) {
		_, err := ParseExpr(KindConstraint, "model==/gpu(/")
		var ee *ExprError
		require.True(t, errors.As(err, &ee))
		assert.Contains(t, ee.Reason, "bad regular expression")
	})
}

func TestExprMatch(t *testing.T) {
	tests := []struct {
		value string
		in    string
		want  bool
	}{
		{"gpu", "gpu", true},
		{"gpu", "GPU", false},
		{"gpu", "gpu1", false},
		{"gpu*", "gpu1", true},
		{"gpu*", "xgpu1", false},
		{"*redis*", "my-redis-1", true},
		{"*redis*", "redi", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "ac", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"*", "", true},
		{"n1|n2", "n2", true},
		{"n1|n2", "n12", false},
		{"n1|web*", "web3", true},
		{"/^eu-/", "eu-west", true},
		{"/west/", "eu-west-1", true},
		{"/^West$/", "west", false},
		{"/(?i)^West$/", "west", true},
		{"a.b", "axb", false},
		{"/^$/", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.value+"~"+tt.in, func(t *testing.T) {
			e, err := ParseExpr(KindConstraint, "k=="+tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.Match(tt.in))
		})
	}
}

func TestExprHolds(t *testing.T) {
	eq, err := ParseExpr(KindConstraint, "k==v")
	require.NoError(t, err)
	ne, err := ParseExpr(KindConstraint, "k!=v")
	require.NoError(t, err)
	assert.True(t, eq.Holds(true))
	assert.False(t, eq.Holds(false))
	assert.False(t, ne.Holds(true))
	assert.True(t, ne.Holds(false))
}

func TestLiterals(t *testing.T) {
	tests := []struct {
		value string
		lits  []string
		ok    bool
	}{
		{"a", []string{"a"}, true},
		{"a|b", []string{"a", "b"}, true},
		{"a*", nil, false},
		{"a|b*", nil, false},
		{"/a/", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			e, err := ParseExpr(KindAffinity, "k=="+tt.value)
			require.NoError(t, err)
			lits, ok := e.Literals()
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.lits, lits)
		})
	}
}
