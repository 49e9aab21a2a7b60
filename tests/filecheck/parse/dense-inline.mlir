// RUN: lamina-opt %s | filecheck %s
// Small constants stay inline; a splat prints as one value.

// CHECK-LABEL: func.func @consts
func.func @consts() -> (tensor<2x2xf32>, tensor<3x4xf32>, tensor<i64>) {
  // CHECK: graph.const dense<[[1.0, 2.0], [3.0, 4.5]]> : tensor<2x2xf32>
  %a = graph.const dense<[[1.0, 2.0], [3.0, 4.5]]> : tensor<2x2xf32>
  // CHECK: graph.const dense<0.5> : tensor<3x4xf32>
  %b = graph.const dense<0.5> : tensor<3x4xf32>
  // CHECK: graph.const dense<7> : tensor<i64>
  %c = graph.const dense<7> : tensor<i64>
  func.return %a, %b, %c : tensor<2x2xf32>, tensor<3x4xf32>, tensor<i64>
}
