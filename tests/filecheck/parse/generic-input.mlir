// RUN: lamina-opt %s | filecheck %s
// The generic form is always accepted on input.

// CHECK-LABEL: func.func @h
// CHECK: %n = graph.neg %x : tensor<3xf32>
"func.func"() <{sym_name = "h", function_type = (tensor<3xf32>) -> tensor<3xf32>}> ({
^bb0(%x: tensor<3xf32>):
  %n = "graph.neg"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  "func.return"(%n) : (tensor<3xf32>) -> ()
}) : () -> ()
