// RUN: lamina-opt %s -p canonicalize | filecheck %s
// Chains of reshapes collapse; transposes compose; identity shape ops vanish; unread split parts go.

// CHECK-LABEL: func.func @reshapes
// CHECK-NEXT: %{{.*}} = graph.reshape %x {shape = [n, 6]} : tensor<n x 6 x f32>
// CHECK-NEXT: func.return
func.func @reshapes(%x: tensor<n x 2 x 3 x f32>) -> tensor<n x 6 x f32> {
  %a = graph.reshape %x {shape = [n, 3, 2]}
  %b = graph.reshape %a {shape = [n, 6]}
  func.return %b : tensor<n x 6 x f32>
}

// CHECK-LABEL: func.func @transposes
// CHECK-NEXT: %{{.*}} = graph.transpose %x {perm = [1, 0, 2]} : tensor<3x2x4xf32>
// CHECK-NEXT: func.return
func.func @transposes(%x: tensor<2x3x4xf32>) -> tensor<3x2x4xf32> {
  %a = graph.transpose %x {perm = [2, 0, 1]}
  %b = graph.transpose %a {perm = [2, 1, 0]}
  func.return %b : tensor<3x2x4xf32>
}

// CHECK-LABEL: func.func @identity_ops
// CHECK-NEXT: func.return %x
func.func @identity_ops(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = graph.transpose %x {perm = [0, 1]}
  %b = graph.reshape %a {shape = [2, 3]}
  %c = graph.cast %b {to = f32}
  %d = graph.broadcast_to %c {shape = [2, 3]}
  func.return %d : tensor<2x3xf32>
}

// A split whose other parts nobody reads becomes a slice of the part read.
// CHECK-LABEL: func.func @split_part
// CHECK-NEXT: %{{.*}} = graph.slice %x {starts = [32], ends = [64], axes = [1]} : tensor<4x32xf32>
// CHECK-NEXT: graph.relu
// CHECK-NOT: graph.split
func.func @split_part(%x: tensor<4x96xf32>) -> tensor<4x32xf32> {
  %a, %b, %c = graph.split %x {axis = -1, sizes = [32, 32, 32]} : tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  %r = graph.relu %b : tensor<4x32xf32>
  func.return %r : tensor<4x32xf32>
}
