using System.Diagnostics;
using System.Reflection;
using Cluster.Torch;
using Xunit;

// A minimal xunit runner: every [Fact], [CudaFact] and [Theory] with [InlineData] in the two test
// assemblies, one at a time, in declaration order. Exit code 1 if any test fails.
//   Cluster.GpuCheck [--only-cuda] [--filter TEXT]
//   Cluster.GpuCheck bench model ARGS...   (Cluster.Bench's model benchmark, with its arguments)
//   Cluster.GpuCheck bench trainstep ARGS...   (its masked-LM training step against the Hugging Face Trainer's)
//   Cluster.GpuCheck bench pipeline ARGS...    (one serving replica against transformers' pipeline)
if (args.Length > 1 && args[0] == "bench" && args[1] == "model")
    return Cluster.Bench.RobertaThroughputBench.Run(Cluster.Bench.BenchOptions.Parse(args[1..]));
if (args.Length > 1 && args[0] == "bench" && args[1] == "trainstep")
    return Cluster.Bench.TrainStepBench.Run(Cluster.Bench.BenchOptions.Parse(args[1..]));
if (args.Length > 1 && args[0] == "bench" && args[1] == "pipeline")
    return Cluster.Bench.PipelineBench.Run(Cluster.Bench.BenchOptions.Parse(args[1..]));
bool onlyCuda = args.Contains("--only-cuda");
string? filter = args.SkipWhile(a => a != "--filter").Skip(1).FirstOrDefault();

Console.WriteLine($"libtorch {torch.__version__}, CUDA {(torch.cuda.is_available() ? $"available ({torch.cuda.device_count()} device(s))" : "not available")}");
var assemblies = new[] { typeof(Cluster.Torch.Tests.CudaTests).Assembly, typeof(Cluster.Model.Tests.CudaModelTests).Assembly };
var results = new List<(string name, bool cuda, string outcome, double seconds)>();
foreach (var assembly in assemblies)
    foreach (var type in assembly.GetTypes().Where(t => t.IsPublic && t.IsClass && !t.IsAbstract))
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        {
            var fact = method.GetCustomAttribute<FactAttribute>();
            if (fact is null) continue;
            bool cuda = fact.GetType().Name == "CudaFactAttribute";
            if (onlyCuda && !cuda) continue;
            string name = $"{type.Name}.{method.Name}";
            if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var rows = fact is TheoryAttribute
                ? method.GetCustomAttributes<InlineDataAttribute>().SelectMany(d => d.GetData(method)).ToList()
                : [Array.Empty<object?>()];
            foreach (var row in rows)
            {
                string label = row.Length == 0 ? name : $"{name}({string.Join(", ", row)})";
                if (fact.Skip is not null)
                {
                    results.Add((label, cuda, "skipped: " + fact.Skip, 0));
                    continue;
                }
                if (type.GetConstructor(Type.EmptyTypes) is null)
                {
                    results.Add((label, cuda, "skipped: needs a fixture this runner does not make", 0));
                    continue;
                }
                Console.WriteLine($"  {label}");
                var sw = Stopwatch.StartNew();
                string outcome;
                try
                {
                    var instance = Activator.CreateInstance(type);
                    var returned = method.Invoke(instance, row);
                    if (returned is Task task) task.GetAwaiter().GetResult();
                    (instance as IDisposable)?.Dispose();
                    outcome = "passed";
                }
                catch (TargetInvocationException e)
                {
                    outcome = "FAILED: " + e.InnerException!.GetType().Name + ": " + e.InnerException.Message.ReplaceLineEndings(" ");
                }
                catch (Exception e)
                {
                    outcome = "FAILED: " + e.GetType().Name + ": " + e.Message.ReplaceLineEndings(" ");
                }
                results.Add((label, cuda, outcome, sw.Elapsed.TotalSeconds));
            }
        }

Console.WriteLine();
foreach (var r in results.Where(r => r.outcome != "passed"))
    Console.WriteLine($"{(r.cuda ? "[cuda] " : "")}{r.name}: {r.outcome}");
Console.WriteLine();
foreach (bool cuda in new[] { true, false })
{
    var group = results.Where(r => r.cuda == cuda).ToList();
    Console.WriteLine($"{(cuda ? "CUDA tests" : "other tests"),-12} passed {group.Count(r => r.outcome == "passed"),4}  " +
                      $"failed {group.Count(r => r.outcome.StartsWith("FAILED")),3}  skipped {group.Count(r => r.outcome.StartsWith("skipped")),3}  " +
                      $"({group.Sum(r => r.seconds):F1} s)");
}
return results.Any(r => r.outcome.StartsWith("FAILED")) ? 1 : 0;
