// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @shape_ops
func.func @shape_ops(%x: tensor<1x8x1xf32>) -> tensor<3x1xf32> {
  // CHECK: %s = graph.squeeze %x {axes = [0, 2]} : tensor<8xf32>
  %s = graph.squeeze %x {axes = [0, 2]}
  // CHECK: %u = graph.unsqueeze %s {axes = [1]} : tensor<8x1xf32>
  %u = graph.unsqueeze %s {axes = [1]}
  // CHECK: %l = graph.slice %u {starts = [1], ends = [7], axes = [0], steps = [2]} : tensor<3x1xf32>
  %l = graph.slice %u {starts = [1], ends = [7], axes = [0], steps = [2]}
  func.return %l : tensor<3x1xf32>
}
