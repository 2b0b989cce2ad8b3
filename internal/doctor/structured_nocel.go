//go:build tokengate_omit_cel

package doctor

// omittedEvaluator stands in for cel-go in a binary built with -tags tokengate_omit_cel:
// claim-and-prefix mappings and requiredValue rules are still checked, every expression is
// reported as not evaluated, and the report fails rather than vouch for what it did not run.
type omittedEvaluator struct{}

var _ exprEvaluator = omittedEvaluator{}

func newExprEvaluator(string) (exprEvaluator, error) { return omittedEvaluator{}, nil }

// Bool implements exprEvaluator.
func (omittedEvaluator) Bool(string, any) (bool, error) { return false, errCELOmitted }

// Strings implements exprEvaluator.
func (omittedEvaluator) Strings(string, any) ([]string, error) { return nil, errCELOmitted }
