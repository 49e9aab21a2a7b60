// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// compute_inline: exp disappears; matmul computes exp of the element it loads.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}

schedule.sequence @f () {
  %e = schedule.get_block "exp"
  schedule.compute_inline %e
}

// CHECK-NOT:  label = "exp"
// CHECK:      loop.block {{.*}} {label = "matmul"
// CHECK:        loop.yield
// CHECK-NEXT: } (%[[I:.*]]: index, %{{.*}}: index, %[[K:.*]]: index) {
// CHECK-NEXT:   %[[X:.*]] = loop.load %0, %[[I]], %[[K]] : f32
// CHECK-NEXT:   %[[E:.*]] = math.exp %[[X]] : f32
// CHECK-NEXT:   %[[B:.*]] = loop.load %1,
// CHECK-NEXT:   arith.mulf %[[E]], %[[B]] : f32
