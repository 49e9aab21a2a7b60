// RUN: not lamina-opt %s 2>&1 | filecheck %s
// A syntax error is file:line:col, the line and a caret — never a Python traceback.

// CHECK: no-traceback.mlir:9:21: error:
// CHECK-NEXT: %c = graph.add %a %b
// CHECK-NEXT: {{^ +\^$}}
// CHECK-NOT: Traceback
func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.add %a %b
  func.return %c : tensor<4xf32>
}
