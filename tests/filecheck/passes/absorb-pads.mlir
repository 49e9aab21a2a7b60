// RUN: lamina-opt %s -p 'lower-graph-to-loop,simplify-indices,default-schedule{threads=1},absorb-pads' | filecheck %s
// A zero-padded copy of an intermediate buffer becomes the buffer itself: the relu writes the
// padded buffer's interior (indices shifted by the low pads, 1 row and 2 columns), the pad nest
// is left with its border (one nest: loops over batch and channels, inside them one box per
// padded side: the top row, the left and the right columns), the
// conv reads the padded buffer as before, and the other reader of the relu (exp) reads the
// interior. The relu's own buffer is gone. A pad of a function argument, which cannot be written
// padded, is split: its border nest, then a copy of the interior (the rows in one loop, the last
// axis vectorized, stored at the low pads' offset).

func.func @relu_pad(%x: tensor<1x2x4x8xf32>, %w: tensor<2x2x3x3xf32>) -> (tensor<1x2x3x9xf32>, tensor<1x2x4x8xf32>) {
  %r = graph.relu %x : tensor<1x2x4x8xf32>
  %p = graph.pad %r {pads = [0, 0, 1, 2, 0, 0, 0, 1]} : tensor<1x2x5x11xf32>
  %y = graph.conv2d %p, %w : tensor<1x2x3x9xf32>
  %z = graph.exp %r : tensor<1x2x4x8xf32>
  func.return %y, %z : tensor<1x2x3x9xf32>, tensor<1x2x4x8xf32>
}

// CHECK-LABEL: func.func @relu_pad
// CHECK-NOT:     loop.alloc : memref<1x2x4x8xf32>
// CHECK:         %[[P:[0-9]+]] = loop.alloc : memref<1x2x5x11xf32>
// CHECK-NOT:     loop.alloc
// CHECK:         loop.block {{.*}} {label = "relu", iter_kinds = "SSSS", domain = [1, 2, 4, 8]} ({{.*}}) {
// CHECK:           } (%[[N:[0-9]+]]: index, %[[C:[0-9]+]]: index, %[[Y:[0-9]+]]: index, %[[X:[0-9]+]]: index) {
// CHECK:           %[[ONE:[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT:      %[[Y1:[0-9]+]] = arith.addi %[[Y]], %[[ONE]] : index
// CHECK-NEXT:      %[[TWO:[0-9]+]] = arith.constant 2 : index
// CHECK-NEXT:      %[[X2:[0-9]+]] = arith.addi %[[X]], %[[TWO]] : index
// CHECK-NEXT:      loop.store %{{.*}}, %[[P]], %[[N]], %[[C]], %[[Y1]], %[[X2]]
// CHECK-NOT:     label = "pad"
// CHECK:         loop.for {{.*}} {label = "pad_border_d0"}
// CHECK:           loop.for {{.*}} {label = "pad_border_d1"}
// CHECK:             loop.for {{.*}} {label = "pad_border_b0_d3", vectorize = true}
// CHECK:               loop.block {{.*}} {label = "pad_border"
// CHECK:                 %[[ZERO:[0-9]+]] = arith.constant 0.0 : f32
// CHECK-NEXT:            loop.store %[[ZERO]], %[[P]]
// CHECK:             loop.for {{.*}} {label = "pad_border_b1_d3"}
// CHECK:               loop.block {{.*}} {label = "pad_border_1"
// CHECK:               loop.block {{.*}} {label = "pad_border_2"
// CHECK-NOT:     label = "pad_border_3"
// CHECK:         loop.block {{.*}} {label = "conv2d"
// CHECK:           loop.load %[[P]]
// CHECK:         loop.block {{.*}} {label = "exp"
// CHECK:           arith.addi
// CHECK:           arith.addi
// CHECK:           loop.load %[[P]]

func.func @argument(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32> {
  %p = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x2x6x6xf32>
  %y = graph.conv2d %p, %w : tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// CHECK-LABEL: func.func @argument
// CHECK-NOT:     label = "pad"
// CHECK:         loop.for {{.*}} {label = "pad_border_d0"}
// CHECK:         loop.for {{.*}} {label = "pad_interior_rows"}
// CHECK:           arith.remui
// CHECK:           arith.divui
// CHECK:           loop.for {{.*}} {label = "pad_interior_d3", vectorize = true}
// CHECK:             loop.block {{.*}} {label = "pad_interior", iter_kinds = "SSSS", domain = [1, 2, 4, 4]}
// CHECK:               %[[V:[0-9]+]] = loop.load %0,
// CHECK:               arith.addi
// CHECK:               arith.addi
// CHECK-NEXT:          loop.store %[[V]],
// CHECK:         loop.block {{.*}} {label = "conv2d"
// CHECK:         func.return

// A depthwise conv reads channel o of the padded argument only in iteration o of its outermost
// loop: the pad moves there, each iteration filling its channel's border (the top and bottom
// rows, the left and right columns) and copying its channel's interior rows before the conv reads
// them, and no pad nest is left before the conv's.
func.func @depthwise_argument(%x: tensor<1x3x4x12xf32>, %w: tensor<3x1x3x3xf32>) -> tensor<1x3x4x12xf32> {
  %p = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x3x6x14xf32>
  %y = graph.conv2d %p, %w {groups = 3} : tensor<1x3x4x12xf32>
  func.return %y : tensor<1x3x4x12xf32>
}

// CHECK-LABEL: func.func @depthwise_argument
// CHECK-NOT:     label = "pad
// CHECK:         loop.for %{{[0-9]+}}, %{{[0-9]+}} {label = "o"} (%[[O:[0-9]+]]: index) {
// CHECK-NEXT:      %[[ZERO:[0-9]+]] = arith.constant 0 : index
// CHECK:           loop.for {{.*}} {label = "pad_border_b0_d2"}
// CHECK:               loop.block %[[ZERO]], %[[O]], {{.*}} {label = "pad_border", iter_kinds = "SSSS", domain = [1, 3, 6, 14]}
// CHECK:           loop.for {{.*}} {label = "pad_border_b3_d2"}
// CHECK:           loop.for {{.*}} {label = "pad_interior_rows"}
// CHECK:             loop.for {{.*}} {label = "pad_interior_d3", vectorize = true}
// CHECK:               loop.block %[[ZERO]], %[[O]], {{.*}} {label = "pad_interior", iter_kinds = "SSSS", domain = [1, 3, 4, 12]}
// CHECK:                 loop.load %0,
// CHECK:           loop.for {{.*}} {label = "b"}
// CHECK:               loop.block {{.*}} {label = "conv2d_init"
// CHECK:         func.return
