// RUN: lamina-opt %s | filecheck %s
// Static shapes print compact; any symbolic dim switches to spaced ` x ` separators.

// CHECK-LABEL: func.func @sym(%a: tensor<n x 4 x f32>, %b: tensor<m*n+1 x f32>, %c: tensor<f32>, %d: tensor<4x8xi64>)
func.func @sym(%a: tensor<n x 4 x f32>, %b: tensor<n*m + 1 x f32>, %c: tensor<f32>, %d: tensor<4 x 8 x i64>) -> tensor<n x 4 x f32> {
  func.return %a : tensor<n x 4 x f32>
}
