// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x3x4x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %g: tensor<4xf32>) -> tensor<2x3x4x4xf32> {
  // CHECK: %bn = graph.batch_norm %x, %s, %b, %m, %v {epsilon = 0.001} : tensor<2x3x4x4xf32>
  %bn = graph.batch_norm %x, %s, %b, %m, %v {epsilon = 0.001}
  // CHECK: %ln = graph.layer_norm %bn, %g, %g : tensor<2x3x4x4xf32>
  %ln = graph.layer_norm %bn, %g, %g
  // CHECK: %sm = graph.softmax %ln {axis = 1} : tensor<2x3x4x4xf32>
  %sm = graph.softmax %ln {axis = 1}
  func.return %sm : tensor<2x3x4x4xf32>
}
