// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// reverse_compute_inline: relu disappears into the store of exp, which now writes the
// function's output directly; the intermediate buffer is gone.

func.func @f(%a: tensor<4x6xf32>) -> tensor<6x4xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %t = graph.transpose %e {perm = [1, 0]} : tensor<6x4xf32>
  func.return %t : tensor<6x4xf32>
}

schedule.sequence @f () {
  %t = schedule.get_block "transpose"
  schedule.reverse_compute_inline %t
}

// CHECK-NOT:  loop.alloc
// CHECK:      loop.block {{.*}} {label = "exp", iter_kinds = "SS", domain = [4, 6]}
// CHECK:        loop.yield
// CHECK-NEXT: } (%[[I:.*]]: index, %[[J:.*]]: index) {
// CHECK-NEXT:   %[[X:.*]] = loop.load %0, %[[I]], %[[J]] : f32
// CHECK-NEXT:   %[[E:.*]] = math.exp %[[X]] : f32
// CHECK-NEXT:   loop.store %[[E]], %1, %[[J]], %[[I]]
// CHECK-NOT:  label = "transpose"
