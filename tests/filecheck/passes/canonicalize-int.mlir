// RUN: lamina-opt %s -p canonicalize | filecheck %s
// For integers x*0 and x-x are zero; for floats they are not (NaN, inf) and stay.

// CHECK-LABEL: func.func @ints
// CHECK-NOT: graph.mul
// CHECK-NOT: graph.sub
func.func @ints(%x: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>) {
  %zero = graph.const dense<0> : tensor<4xi32>
  %a = graph.mul %x, %zero
  %b = graph.sub %x, %x
  func.return %a, %b : tensor<4xi32>, tensor<4xi32>
}

// CHECK-LABEL: func.func @floats
// CHECK: graph.mul
// CHECK: graph.sub
func.func @floats(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = graph.const dense<0.0> : tensor<4xf32>
  %a = graph.mul %x, %zero
  %b = graph.sub %x, %x
  func.return %a, %b : tensor<4xf32>, tensor<4xf32>
}
