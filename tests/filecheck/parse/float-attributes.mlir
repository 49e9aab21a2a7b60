// RUN: lamina-opt %s | lamina-opt - | filecheck %s
// Floats print with Python's repr and survive a round trip exactly, inf included.

// CHECK-LABEL: func.func @floats
func.func @floats(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: graph.leaky_relu %x {alpha = 0.1} : tensor<4xf32>
  %a = graph.leaky_relu %x {alpha = 0.1}
  // CHECK: graph.clip %a {min = -inf, max = 6.0} : tensor<4xf32>
  %b = graph.clip %a {min = -inf, max = 6.0}
  // CHECK: graph.batch_norm
  // CHECK-SAME: {epsilon = 1e-07}
  %c = graph.const dense<[1.0, 1.0, 1.0, 1.0]> : tensor<4xf32>
  %y = graph.reshape %b {shape = [1, 4, 1, 1]}
  %z = graph.batch_norm %y, %c, %c, %c, %c {epsilon = 1e-07}
  %r = graph.reshape %z {shape = [4]}
  func.return %r : tensor<4xf32>
}
