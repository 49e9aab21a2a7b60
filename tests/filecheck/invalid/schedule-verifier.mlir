// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// The schedule dialect's own verifier, before any primitive runs: split factors, tile sizes,
// unroll factors, sampling decisions and probabilities, undefined handles, each at its op.

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{at most one factor may be -1 (inferred)}}
  %io, %ii = schedule.split %i {factors = [-1, -1]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{factors must be positive or -1, got [0, 4]}}
  %io, %ii = schedule.split %i {factors = [0, 4]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{a split needs at least two factors, got 1}}
  %io = schedule.split %i {factors = [4]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{2 loops but 1 tile sizes}}
  %a, %b, %c, %d = schedule.tile %i, %j {sizes = [2]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{tile sizes must be positive, got [2, 0]}}
  %a, %b, %c, %d = schedule.tile %i, %j {sizes = [2, 0]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{the unroll factor must be positive, got 0}}
  schedule.unroll %i {factor = 0}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{n must be at least 2, got 1}}
  %f = schedule.sample_perfect_tile %i {n = 1}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{the decision has 1 factors but n = 2}}
  %f0, %f1 = schedule.sample_perfect_tile %i {n = 2, decision = [4]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{2 candidates but 1 probabilities}}
  %c = schedule.sample_categorical {candidates = [1, 2], probs = [1.0]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{decision 2 is not an index into the 2 candidates}}
  %c = schedule.sample_categorical {candidates = [1, 2], decision = 2}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{undefined value '%nope'}}
  %x, %y = schedule.split %nope {factors = [-1, 4]}
}

// -----

func.func @f(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  func.return %e : tensor<4x6xf32>
}
schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{'schedule.vectorize' expects 1 operand, got 0}}
  schedule.vectorize
}
