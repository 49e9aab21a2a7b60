// RUN: lamina-opt %s --print-debuginfo | filecheck %s
// Parsed ops carry their file:line:col; an explicit loc(...) overrides it.

// CHECK: graph.relu %x : tensor<2xf32> loc("{{.*}}locations.mlir":7:3)
// CHECK: graph.neg %r : tensor<2xf32> loc("model.py":42:7)
func.func @l(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = graph.relu %x
  %n = graph.neg %r loc("model.py":42:7)
  func.return %n : tensor<2xf32>
}
