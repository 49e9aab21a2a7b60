// A two-layer perceptron over a symbolic batch `n`, written the way an importer leaves it:
// redundant reshapes, a multiply by one, a constant subexpression computed twice and a dead
// branch — material for canonicalize, cse, fold-constants and dce.
func.func @mlp(%x: tensor<n x 16 x f32>) -> tensor<n x 4 x f32> {
  %w0 = graph.const dense<0.125> : tensor<16x8xf32>
  %b0 = graph.const dense<[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8]> : tensor<8xf32>
  %one = graph.const dense<1.0> : tensor<8xf32>
  %h = graph.matmul %x, %w0 : tensor<n x 8 x f32>
  %hb = graph.add %h, %b0 : tensor<n x 8 x f32>
  %scaled = graph.mul %hb, %one : tensor<n x 8 x f32>
  %a = graph.relu %scaled : tensor<n x 8 x f32>
  %unused = graph.exp %a : tensor<n x 8 x f32>
  %w1a = graph.const dense<[[0.5, -0.5, 0.25, 0.0], [0.5, 0.5, -0.25, 0.0], [1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 0.0, 1.0]]> : tensor<4x4xf32>
  %w1b = graph.const dense<[[0.5, -0.5, 0.25, 0.0], [0.5, 0.5, -0.25, 0.0], [1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 0.0, 1.0]]> : tensor<4x4xf32>
  %w1 = graph.concat %w1a, %w1b {axis = 0} : tensor<8x4xf32>
  %two = graph.const dense<2.0> : tensor<f32>
  %half = graph.const dense<0.5> : tensor<f32>
  %unit = graph.mul %two, %half : tensor<f32>
  %w1s = graph.mul %w1, %unit : tensor<8x4xf32>
  %logits = graph.matmul %a, %w1s : tensor<n x 4 x f32>
  %r1 = graph.reshape %logits {shape = [n, 2, 2]} : tensor<n x 2 x 2 x f32>
  %r2 = graph.reshape %r1 {shape = [n, 4]} : tensor<n x 4 x f32>
  %y = graph.softmax %r2 {axis = -1} : tensor<n x 4 x f32>
  func.return %y : tensor<n x 4 x f32>
}
