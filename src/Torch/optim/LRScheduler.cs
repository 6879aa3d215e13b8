namespace Cluster.Torch.Optim;

/// <summary>
/// Sets each group's lr to initial_lr × factor(step), as PyTorch's LambdaLR: the factor for step 0
/// applies at construction and each <see cref="step"/> advances by one.
/// </summary>
public sealed class LRScheduler
{
    private readonly AdamW optimizer;
    private readonly Func<long, double> factor;

    public LRScheduler(AdamW optimizer, Func<long, double> factor)
    {
        (this.optimizer, this.factor) = (optimizer, factor);
        Apply();
    }

    public long last_step { get; private set; }

    public double get_last_lr() => optimizer.param_groups[0].lr;

    public void step()
    {
        last_step++;
        Apply();
    }

    private void Apply()
    {
        double f = factor(last_step);
        foreach (var g in optimizer.param_groups) g.lr = g.initial_lr * f;
    }

    // The schedules of Hugging Face's transformers.optimization, with its formulas.

    private static double Warmup(long step, long warmup) => (double)step / Math.Max(1, warmup);

    /// <summary>Linear warm-up to the peak, then linear decay to 0 at total_steps.</summary>
    public static LRScheduler LinearWithWarmup(AdamW optimizer, long warmup_steps, long total_steps) =>
        new(optimizer, step => step < warmup_steps
            ? Warmup(step, warmup_steps)
            : Math.Max(0.0, (double)(total_steps - step) / Math.Max(1, total_steps - warmup_steps)));

    /// <summary>Linear warm-up, then cosine decay over num_cycles half-waves (0.5: one fall to 0).</summary>
    public static LRScheduler CosineWithWarmup(AdamW optimizer, long warmup_steps, long total_steps, double num_cycles = 0.5) =>
        new(optimizer, step =>
        {
            if (step < warmup_steps) return Warmup(step, warmup_steps);
            double progress = (double)(step - warmup_steps) / Math.Max(1, total_steps - warmup_steps);
            return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * num_cycles * 2.0 * progress)));
        });

    /// <summary>Linear warm-up, then (lr - lr_end)·(1 - progress)^power + lr_end, and lr_end after total_steps.</summary>
    public static LRScheduler PolynomialDecayWithWarmup(AdamW optimizer, long warmup_steps, long total_steps, double lr_end = 1e-7,
        double power = 1.0)
    {
        double lr_init = optimizer.param_groups[0].initial_lr;
        if (lr_end > lr_init) throw new ArgumentException($"lr_end ({lr_end}) must not exceed the initial lr ({lr_init})", nameof(lr_end));
        return new(optimizer, step =>
        {
            if (step < warmup_steps) return Warmup(step, warmup_steps);
            if (step > total_steps) return lr_end / lr_init;
            double remaining = 1.0 - (double)(step - warmup_steps) / (total_steps - warmup_steps);
            return ((lr_init - lr_end) * Math.Pow(remaining, power) + lr_end) / lr_init;
        });
    }
}
