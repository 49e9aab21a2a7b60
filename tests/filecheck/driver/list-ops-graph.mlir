// RUN: lamina-opt --list-ops graph | filecheck %s
// One op name per line, every row of the graph table.

// CHECK-DAG: {{^}}graph.add{{$}}
// CHECK-DAG: {{^}}graph.matmul{{$}}
// CHECK-DAG: {{^}}graph.conv2d{{$}}
// CHECK-DAG: {{^}}graph.softmax{{$}}
// CHECK-DAG: {{^}}graph.unsqueeze{{$}}
// CHECK-DAG: {{^}}graph.const{{$}}
// CHECK-NOT: func.func
