// RUN: lamina-opt %s -p cse | filecheck %s

// CHECK-LABEL: func.func @dup
// CHECK: %a = graph.exp %x
// CHECK-NOT: graph.exp
// CHECK: graph.add %a, %a
func.func @dup(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = graph.exp %x
  %b = graph.exp %x
  %c = graph.add %a, %b
  func.return %c : tensor<4xf32>
}

// CHECK-LABEL: func.func @attrs_differ
// CHECK: graph.softmax %x {axis = 0}
// CHECK: graph.softmax %x : tensor<2x2xf32>
func.func @attrs_differ(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %a = graph.softmax %x {axis = 0}
  %b = graph.softmax %x {axis = -1}
  func.return %a, %b : tensor<2x2xf32>, tensor<2x2xf32>
}

// CHECK-LABEL: func.func @same_constant
// CHECK: graph.const
// CHECK-NOT: graph.const
func.func @same_constant() -> (tensor<2xf32>, tensor<2xf32>) {
  %a = graph.const dense<[1.0, 2.0]> : tensor<2xf32>
  %b = graph.const dense<[1.0, 2.0]> : tensor<2xf32>
  func.return %a, %b : tensor<2xf32>, tensor<2xf32>
}
