// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// Errors the parser reports, each at its token.

func.func @unknown_op(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{unknown op 'graph.frobnicate'}}
  %c = graph.frobnicate %a
  func.return %c : tensor<4xf32>
}

// -----

func.func @undefined(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{undefined value '%b'}}
  %c = graph.relu %b
  func.return %c : tensor<4xf32>
}

// -----

func.func @redefined(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.relu %a
  // expected-error @below {{'%c' is already defined}}
  %c = graph.neg %a
  func.return %c : tensor<4xf32>
}

// -----

func.func @arity(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{expects 2 operands}}
  %c = graph.add %a
  func.return %c : tensor<4xf32>
}

// -----

func.func @result_count(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{result}}
  %c, %d = graph.relu %a
  func.return %c : tensor<4xf32>
}
