// RUN: lamina-opt %s --split-input-file -p lower-graph-to-loop | filecheck %s
// Graph functions become loop functions in destination-passing style: the result is a trailing
// memref argument, intermediates are allocated buffers, symbolic dims become `loop.size` bounds,
// and each op is a named block whose iterators (spatial S / reduce R) come from its compute rule.

func.func @mm(%x: tensor<n x 16 x f32>, %w: tensor<16 x 12 x f32>) -> tensor<n x 12 x f32> {
  %h = graph.matmul %x, %w : tensor<n x 12 x f32>
  %r = graph.relu %h : tensor<n x 12 x f32>
  func.return %r : tensor<n x 12 x f32>
}

// CHECK-LABEL: func.func @mm(
// CHECK-SAME:    %{{[0-9a-z_]+}}: memref<n x 16 x f32>, %{{[0-9a-z_]+}}: memref<16x12xf32>, %[[OUT:[0-9a-z_]+]]: memref<n x 12 x f32>) attributes {lamina.outputs = 1 : i64} {
// CHECK:         %[[N:.*]] = loop.size "n" : index
// CHECK-NEXT:    %[[H:.*]] = loop.alloc %[[N]] : memref<n x 12 x f32>
// CHECK:         loop.for %{{.*}}, %{{.*}} {kind = "parallel", label = "i"}
// CHECK-NEXT:      loop.for %{{.*}}, %{{.*}} {kind = "parallel", label = "j"}
// CHECK-NEXT:        loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT:          loop.block %{{.*}}, %{{.*}}, %{{.*}} {label = "matmul", iter_kinds = "SSR", domain = [n, 12, 16]}
// The init region zeroes the accumulator, the body accumulates into it.
// CHECK-NEXT:            %[[ZERO:.*]] = arith.constant 0.0 : f32
// CHECK-NEXT:            loop.store %[[ZERO]], %[[H]]
// CHECK:                 arith.mulf
// CHECK:                 arith.addf
// CHECK:                 loop.store %{{.*}}, %[[H]]
// CHECK:         loop.block %{{.*}}, %{{.*}} {label = "relu", iter_kinds = "SS", domain = [n, 12]}
// CHECK:           %[[V:.*]] = loop.load %[[H]]
// CHECK:           arith.maximumf %[[V]]
// CHECK:           loop.store %{{.*}}, %[[OUT]]
// CHECK:         func.return
// CHECK-NOT:     graph.

// -----

// A reduction over the last axis: the kept axis is spatial, the reduced one a reduction loop.
func.func @rowsum(%x: tensor<4 x n x f32>) -> tensor<4 x f32> {
  %s = graph.reduce_sum %x {axes = [1], keepdims = false} : tensor<4 x f32>
  func.return %s : tensor<4 x f32>
}

// CHECK-LABEL: func.func @rowsum(%{{.*}}: memref<4 x n x f32>, %{{.*}}: memref<4xf32>)
// CHECK:         loop.for %{{.*}} {kind = "parallel"
// CHECK:           loop.for %{{.*}} {kind = "reduction"
// CHECK:             loop.block %{{.*}}, %{{.*}} {label = "reduce_sum", iter_kinds = "SR", domain = [4, n]}
