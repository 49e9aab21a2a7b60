// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// The device dialect's verifier: index counts, stored types, vector lanes and operand kinds,
// attribute choices, static stack buffers, loop steps, each reported at its op.

func.func @index_count(%0: memref<4x4xf32>) {
  %c = arith.constant 0 : index
  // expected-error @below {{a rank-2 buffer takes 2 indices, got 1}}
  %v = device.load %0, %c : f32
  func.return
}

// -----

func.func @store_type(%0: memref<4xf32>) {
  %c = arith.constant 0 : index
  %v = arith.constant 1 : i32
  // expected-error @below {{storing i32 into a buffer of f32}}
  device.store %v, %0, %c
  func.return
}

// -----

func.func @lanes(%0: memref<8xf32>) {
  %c = arith.constant 0 : index
  // expected-error @below {{a vector needs at least 2 lanes, got 1}}
  %v = device.vload %0, %c {lanes = 1} : vector<1xf32>
  func.return
}

// -----

func.func @reduce_scalar(%0: memref<8xf32>) {
  %c = arith.constant 1.0 : f32
  // expected-error @below {{vreduce takes a vector, got f32}}
  %r = device.vreduce %c {kind = "add"} : f32
  func.return
}

// -----

func.func @reduce_kind(%0: memref<8xf32>) {
  %c = arith.constant 1.0 : f32
  %b = device.broadcast %c {lanes = 8} : vector<8xf32>
  // expected-error @below {{attribute 'kind' must be one of 'add', 'mul', 'max', 'min', got 'median'}}
  %r = device.vreduce %b {kind = "median"} : f32
  func.return
}

// -----

func.func @fma_types(%0: memref<8xf32>) {
  %a = arith.constant 1.0 : f32
  %b = device.broadcast %a {lanes = 8} : vector<8xf32>
  // expected-error @below {{fma operands differ: f32, vector<8xf32>, vector<8xf32>}}
  %r = device.fma %a, %b, %b : vector<8xf32>
  func.return
}

// -----

func.func @stack_sizes(%0: memref<8xf32>) {
  // expected-error @below {{stack buffers need static sizes}}
  %s = device.alloca {shape = [n, 4], element = f32} : memref<n x 4 x f32>
  func.return
}

// -----

func.func @step(%0: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  // expected-error @below {{loop step must be positive, got 0}}
  device.for %c0, %c8 {step = 0} (%i: index) {
  }
  func.return
}

// -----

func.func @axis(%0: memref<8xf32>) {
  // expected-error @below {{attribute 'dim' must be one of 'x', 'y', 'z', got 'w'}}
  %t = device.thread_id "w" : index
  func.return
}
