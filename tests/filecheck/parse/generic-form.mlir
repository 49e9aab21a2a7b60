// RUN: lamina-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: lamina-opt %s --print-op-generic | lamina-opt - | filecheck %s
// The generic form prints and parses back to the same custom form.

// GENERIC: "func.func"()
// GENERIC: "graph.softmax"(%{{.*}}) <{axis = 0 : i64}> : (tensor<4xf32>) -> tensor<4xf32>
// GENERIC: "func.return"

// CHECK-LABEL: func.func @g
// CHECK: graph.softmax %x {axis = 0} : tensor<4xf32>
func.func @g(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = graph.softmax %x {axis = 0}
  func.return %y : tensor<4xf32>
}
