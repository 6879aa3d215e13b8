using Cluster.Torch;
using Cluster.Torch.Optim;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Client.Demo;

internal sealed record DemoReport(double FinalLoss, double HeldOutAccuracy, long LeakedTensors);

/// <summary>The demo's training loop: AdamW with warm-up and linear decay, one DisposeScope per step.</summary>
internal static class DemoTraining
{
    public const double PassingAccuracy = 0.95;
    private const int BatchSize = 64;

    public static DemoReport Run(int steps, ulong seed, TextWriter log)
    {
        log.WriteLine($"libtorch {torch.__version__}, {torch.get_num_threads()} threads, CUDA available: {torch.cuda.is_available()}, " +
                      $"fused attention: {F.has_fused_attention}");
        log.WriteLine($"task: does token {TokenTask.Marker} occur in a sequence of {TokenTask.Tokens} tokens? (chance: 50%)");
        long liveBefore = torch.LiveTensorCount;
        torch.manual_seed(seed);
        using var data = new Generator(seed);
        using var heldOutData = new Generator(seed + 1_000_003);
        var task = new TokenTask(data);

        double loss = double.NaN, accuracy;
        using (var model = new TinyEncoderClassifier(TokenTask.Vocab, TokenTask.Tokens))
        using (var optimizer = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(model, lr: 3e-3, weight_decay: 0.01)))
        {
            log.WriteLine($"model: {model.num_parameters():N0} parameters; {steps} steps of {BatchSize} sequences");
            log.WriteLine($"{"step",6} {"lr",10} {"loss",8} {"batch acc",10}");
            var schedule = LRScheduler.LinearWithWarmup(optimizer, warmup_steps: Math.Max(1, steps / 10), total_steps: steps);
            var started = DateTime.UtcNow;
            for (int step = 1; step <= steps; step++)
            {
                using var scope = torch.NewDisposeScope();
                var (ids, labels) = task.Batch(BatchSize);
                optimizer.zero_grad();
                var logits = model.call(ids);
                var lossTensor = F.cross_entropy(logits, labels);
                lossTensor.backward();
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                double lr = schedule.get_last_lr();
                optimizer.step();
                schedule.step();
                if (step == 1 || step % Math.Max(1, steps / 10) == 0 || step == steps)
                {
                    loss = lossTensor.item<double>();
                    double batchAccuracy = logits.argmax(1).eq(labels).to(ScalarType.Float32).mean().item<double>();
                    log.WriteLine($"{step,6} {lr,10:0.00e+00} {loss,8:F4} {batchAccuracy,10:P1}");
                }
            }
            log.WriteLine($"trained in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
            accuracy = HeldOutAccuracy(model, new TokenTask(heldOutData), 1024);
        }
        long leaked = torch.LiveTensorCount - liveBefore;
        log.WriteLine($"held-out accuracy: {accuracy:P1} on 1,024 new sequences (pass: ≥ {PassingAccuracy:P0})");
        log.WriteLine($"native tensors still alive after the model was disposed: {leaked}");
        return new DemoReport(loss, accuracy, leaked);
    }

    private static double HeldOutAccuracy(TinyEncoderClassifier model, TokenTask task, int count)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        model.eval();
        var (ids, labels) = task.Batch(count);
        return model.call(ids).argmax(1).eq(labels).to(ScalarType.Float32).mean().item<double>();
    }
}
