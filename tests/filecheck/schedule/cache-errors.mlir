// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of cache_read and cache_write.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  // expected-error @below {{'matmul' reads 3 buffer(s), there is no #3}}
  %c = schedule.cache_read %m {index = 3}
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  // expected-error @below {{'matmul' writes 1 buffer(s), there is no #1}}
  %c = schedule.cache_write %m {index = 1}
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %r = schedule.get_block "relu"
  schedule.reverse_compute_at %r, %j
  // expected-error @below {{another block of its loop nest uses the buffer}}
  %c = schedule.cache_write %m {index = 0}
}
