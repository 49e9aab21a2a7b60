// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// bind: GPU thread axes on independent loops.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.bind %i {thread = "blockIdx.x"}
  schedule.bind %j {thread = "threadIdx.x"}
}

// CHECK:      {kind = "parallel", label = "i", thread = "blockIdx.x"}
// CHECK-NEXT: {kind = "parallel", label = "j", thread = "threadIdx.x"}
