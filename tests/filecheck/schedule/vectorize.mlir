// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// vectorize: the innermost loop, after moving the reduction outward; or a reduction loop.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.reorder %k, %j
  schedule.vectorize %j
}

// CHECK:      label = "i"
// CHECK-NEXT: loop.for %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT: loop.for %{{.*}} {kind = "parallel", label = "j", vectorize = true}

// A reduction loop vectorizes as a reduction (partial results in the lanes, folded at the end).
func.func @rows(%a: tensor<4x64xf32>) -> tensor<4xf32> {
  %s = graph.reduce_sum %a {axes = [1], keepdims = false} : tensor<4xf32>
  func.return %s : tensor<4xf32>
}

schedule.sequence @rows () {
  %b = schedule.get_block "reduce_sum"
  %i, %k = schedule.get_loops %b : index, index
  schedule.vectorize %k
}

// CHECK-LABEL: func.func @rows
// CHECK:       loop.for %{{.*}} {kind = "parallel", label = "d0"}
// CHECK-NEXT:  loop.for %{{.*}} {kind = "reduction", label = "d1", vectorize = true}
