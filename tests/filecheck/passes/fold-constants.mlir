// RUN: lamina-opt %s -p fold-constants | filecheck %s
// Ops over constants are evaluated with the table's numpy reference.

// CHECK-LABEL: func.func @fold
// CHECK: graph.const dense<[5.0, 7.0, 9.0]> : tensor<3xf32>
// CHECK-NOT: graph.add
// CHECK: graph.mul %x
func.func @fold(%x: tensor<3xf32>) -> tensor<3xf32> {
  %a = graph.const dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = graph.const dense<[4.0, 5.0, 6.0]> : tensor<3xf32>
  %s = graph.add %a, %b
  %y = graph.mul %x, %s
  func.return %y : tensor<3xf32>
}

// CHECK-LABEL: func.func @through_shape_ops
// CHECK: graph.const dense<{{\[\[}}1, 3], [2, 4]]> : tensor<2x2xi32>
func.func @through_shape_ops() -> tensor<2x2xi32> {
  %a = graph.const dense<[1, 2, 3, 4]> : tensor<4xi32>
  %r = graph.reshape %a {shape = [2, 2]}
  %t = graph.transpose %r {perm = [1, 0]}
  func.return %t : tensor<2x2xi32>
}
