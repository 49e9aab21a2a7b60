// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// The loop dialect's verifier: each row's check (types, index counts, attribute choices, sizes)
// and the region signatures, each reported at its op.

func.func @store_type(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c = arith.constant 0 : index
  %v = arith.constant 1 : i32
  // expected-error @below {{stored value of type i32 does not match memref<4xf32>}}
  loop.store %v, %0, %c
  func.return
}

// -----

func.func @index_count(%0: memref<4x4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c = arith.constant 0 : index
  // expected-error @below {{memref<4x4xf32> needs 2 indices, got 1}}
  %v = loop.load %0, %c : f32
  func.return
}

// -----

func.func @kinds(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  // expected-error @below {{attribute 'kind' must be one of 'serial', 'parallel', 'reduction', got 'sideways'}}
  loop.for %c0, %c4 {kind = "sideways", label = "i"} (%i: index) {
    loop.yield
  }
  func.return
}

// -----

func.func @step(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  // expected-error @below {{step must be positive, got 0}}
  loop.for %c0, %c4 {step = 0, label = "i"} (%i: index) {
    loop.yield
  }
  func.return
}

// -----

func.func @iter_kinds(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  // expected-error @below {{iter_kinds holds one S (spatial) or R (reduce) per iterator, got 'Q'}}
  loop.block %c0 {label = "b", iter_kinds = "Q", domain = [4]} (%a: index) {
    loop.yield
  } (%b: index) {
    loop.yield
  }
  func.return
}

// -----

func.func @alloc_sizes(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  // expected-error @below {{memref<n x 4 x f32> has 1 symbolic sizes but 0 size operands were given}}
  %b = loop.alloc : memref<n x 4 x f32>
  func.return
}

// -----

func.func @scope(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  // expected-error @below {{attribute 'scope' must be one of 'global', 'local', got 'shared'}}
  %b = loop.alloc {scope = "shared"} : memref<4xf32>
  func.return
}

// -----

func.func @cond(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c = arith.constant 1.0 : f32
  // expected-error @below {{condition must be i1, got f32}}
  loop.if %c () {
    loop.yield
  }
  func.return
}

// -----

func.func @thread(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  // expected-error @below {{attribute 'thread' must be one of 'blockIdx.x'}}
  loop.for %c0, %c4 {thread = "warpIdx.x", label = "i"} (%i: index) {
    loop.yield
  }
  func.return
}

// -----

func.func @region_args(%0: memref<4xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  // expected-error @below {{the body region must take 1 index argument(s), got (f32)}}
  loop.for %c0, %c4 {label = "i"} (%i: f32) {
    loop.yield
  }
  func.return
}
