// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of the sampling ops: decisions that do not fit, extents that are not static.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{the recorded decision [4, 2] is not a perfect tile of 'k' (extent 6) into 2 factors}}
  %f0, %f1 = schedule.sample_perfect_tile %k {n = 2, decision = [4, 2]}
}

// -----

func.func @f(%a: tensor<n x f32>) -> tensor<n x f32> {
  %e = graph.exp %a : tensor<n x f32>
  func.return %e : tensor<n x f32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  %i = schedule.get_loops %e : index
  // expected-error @below {{cannot sample a perfect tile of 'i0': its extent is not static}}
  %f0, %f1 = schedule.sample_perfect_tile %i {n = 2}
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  // expected-error @below {{decision 3 is not an index into the 2 candidates}}
  %u = schedule.sample_categorical {candidates = [1, 2], decision = 3}
}
