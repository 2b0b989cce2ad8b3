//go:build !tokengate_omit_cel

package doctor

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// celEvaluator runs expressions with cel-go, the library the API server uses. Building with
// -tags tokengate_omit_cel replaces it (structured_nocel.go) and drops cel-go from the binary.
type celEvaluator struct {
	env      *cel.Env
	variable string
}

var _ exprEvaluator = celEvaluator{}

// newExprEvaluator declares one variable, as the API server does: claims for claim rules and
// mappings, user for user validation rules. The extension libraries are the ones Kubernetes
// enables for these expressions. The API server types claims as map(string, any), not dyn:
// kube-apiserver v1.37.2 refuses to load claims.groups.map(...) ("expression of type 'any'
// cannot be range of a comprehension") and wants dyn(claims.groups).map(...), so doctor must
// refuse it too.
func newExprEvaluator(variable string) (exprEvaluator, error) {
	valueType := cel.DynType
	if variable == "claims" {
		valueType = cel.AnyType
	}
	env, err := cel.NewEnv(
		cel.Variable(variable, cel.MapType(cel.StringType, valueType)),
		ext.Strings(), ext.Sets(), ext.Lists(), ext.Encoders(), ext.Math(),
	)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	return celEvaluator{env: env, variable: variable}, nil
}

// Bool implements exprEvaluator.
func (e celEvaluator) Bool(expr string, value any) (bool, error) {
	v, err := e.eval(expr, value)
	if err != nil {
		return false, err
	}
	if v.Type() != types.BoolType {
		return false, fmt.Errorf("gives %s, %w", v.Type().TypeName(), errNotBool)
	}
	return v.Value() == true, nil
}

// Strings implements exprEvaluator: a string, a list of strings, or null for none.
func (e celEvaluator) Strings(expr string, value any) ([]string, error) {
	v, err := e.eval(expr, value)
	if err != nil {
		return nil, err
	}
	switch v.Type() {
	case types.NullType:
		return nil, nil
	case types.StringType:
		return []string{v.Value().(string)}, nil
	}
	native, err := v.ConvertToNative(reflect.TypeOf([]string{}))
	if err != nil {
		return nil, fmt.Errorf("evaluated to %s; want a string or a list of strings", v.Type().TypeName())
	}
	return native.([]string), nil
}

// eval compiles and runs one expression with the single variable bound to value.
func (e celEvaluator) eval(expr string, value any) (ref.Val, error) {
	ast, iss := e.env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %w", errNoCompile, iss.Err())
	}
	prg, err := e.env.Program(ast)
	if err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	out, _, err := prg.Eval(map[string]any{e.variable: value})
	if err != nil {
		return nil, fmt.Errorf("evaluation failed: %w", err)
	}
	return out, nil
}
