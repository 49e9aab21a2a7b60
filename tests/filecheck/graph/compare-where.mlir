// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @select
func.func @select(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: %m = graph.less %a, %b : tensor<2x3xi1>
  %m = graph.less %a, %b
  // CHECK: %w = graph.where %m, %a, %b : tensor<2x3xf32>
  %w = graph.where %m, %a, %b
  func.return %w : tensor<2x3xf32>
}
