// RUN: lamina-opt %s -p lower-graph-to-loop,simplify-indices | filecheck %s
// The conv compute rule guards every input read (clamp + in-bounds select). Without padding the
// iterator ranges prove each guard true and it folds away, leaving plain affine loads; with
// padding the reads can leave the input, so the guards stay.

// CHECK-LABEL: func.func @unpadded
// CHECK-NOT:     arith.maxsi
// CHECK-NOT:     arith.select
// CHECK:         %[[Y:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    %[[X:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    loop.load %0, %{{.*}}, %{{.*}}, %[[Y]], %[[X]] : f32
// CHECK-NOT:     arith.cmpi
// CHECK-LABEL: func.func @padded
// CHECK:         arith.cmpi sge
// CHECK:         arith.maxsi
// CHECK:         arith.minsi
// CHECK:         arith.select
func.func @unpadded(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %y = graph.conv2d %x, %w : tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

func.func @padded(%x: tensor<1x2x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %y = graph.conv2d %x, %w {pads = [1, 1, 1, 1]} : tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}
