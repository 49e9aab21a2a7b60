// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of compute_at and reverse_compute_at.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %r = schedule.get_block "relu"
  %x, %y = schedule.get_loops %r : index, index
  %e = schedule.get_block "exp"
  // expected-error @below {{cannot compute 'exp' at 'i0_0': a consumer of its buffer is not under the loop}}
  schedule.compute_at %e, %x
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  %x, %y = schedule.get_loops %e : index, index
  // expected-error @below {{the block is already under that loop}}
  schedule.compute_at %e, %x
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
  // expected-error @below {{'k' is a reduction loop of the producer 'matmul'}}
  schedule.reverse_compute_at %r, %k
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
  %e = schedule.get_block "exp"
  // expected-error @below {{the block must come after the loop}}
  schedule.reverse_compute_at %e, %i
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
  // expected-error @below {{cannot compute 'relu' at 'i': the block must come before the loop}}
  schedule.compute_at %r, %i
}
