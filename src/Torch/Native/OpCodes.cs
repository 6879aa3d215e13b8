namespace Cluster.Torch.Native;

// These numbers are the switch cases in native/src/ops_math.cpp and random.cpp; keep them in step.

internal enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Relu, Silu, Sigmoid, Abs, LogicalNot, Erf, Sin, Cos, Floor, Ceil,
    Round, Reciprocal, Sign, IsNan, Log1p,
}

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, MatMul, Bmm,
    Remainder, FloorDivide,
}

internal enum ReduceOp { Sum, Mean, Prod, All, Any, Amax, Amin }

internal enum RandomKind { Normal, Uniform, Integer }
