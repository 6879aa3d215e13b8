using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.RoCBert;
using Cluster.Model.Roberta;
using Cluster.Testing;
using Cluster.Torch;
using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Tests;

/// <summary>skip_padding: a padded batch with its position-wise layers run on the attended tokens only must give
/// each row what that row gives alone, unpadded (the reference: no padding is involved there at all).</summary>
public sealed class TokenPackingTests
{
    static readonly int[][] Rows = [[0, 9, 4, 17, 5, 8, 2], [0, 6, 2], [0, 12, 3, 11, 2]];

    static Module Model(string family, string positions)
    {
        torch.manual_seed(3);
        Module model = family == "roberta"
            ? new RobertaModel(new RobertaConfig
            {
                vocab_size = 20, hidden_size = 16, num_hidden_layers = 2, num_attention_heads = 4, intermediate_size = 24,
                max_position_embeddings = 16, position_embedding_type = positions,
            })
            : new RoCBertModel(new RoCBertConfig
            {
                vocab_size = 20, hidden_size = 16, num_hidden_layers = 2, num_attention_heads = 4, intermediate_size = 24,
                max_position_embeddings = 16, position_embedding_type = positions,
                shape_vocab_size = 30, shape_embed_dim = 8, pronunciation_vocab_size = 30, pronunciation_embed_dim = 8,
            });
        model.eval();
        return model;
    }

    static BaseModelOutput Forward(Module model, EncoderInput input) => model switch
    {
        RobertaModel m => m.forward(input),
        RoCBertModel m => m.forward(input),
        _ => throw new ArgumentException(model.GetType().Name),
    };

    /// <summary>Rows padded on the right to the longest, with their mask; the shape and pronunciation streams are the
    /// ids shifted (any valid ids will do).</summary>
    static EncoderInput Batch(IReadOnlyList<int[]> rows, int pad, bool skip)
    {
        var length = rows.Max(r => r.Length);
        long[] Filled(Func<int, long> value, long fill)
        {
            var v = new long[rows.Count * length];
            Array.Fill(v, fill);
            for (var i = 0; i < rows.Count; i++)
                for (var t = 0; t < rows[i].Length; t++) v[i * length + t] = value(rows[i][t]);
            return v;
        }
        long[] shape = [rows.Count, length];
        return new EncoderInput(torch.tensor(Filled(id => id, pad), shape))
        {
            attention_mask = torch.tensor(Filled(_ => 1, 0), shape),
            input_shape_ids = torch.tensor(Filled(id => id + 3, pad), shape),
            input_pronunciation_ids = torch.tensor(Filled(id => id + 7, pad), shape),
            skip_padding = skip,
        };
    }

    [Theory]
    [InlineData("roberta", "absolute")]
    [InlineData("roberta", "relative_key_query")]
    [InlineData("roc_bert", "absolute")]
    [InlineData("roc_bert", "relative_key")]
    public void Each_row_of_a_packed_batch_equals_the_row_run_alone(string family, string positions)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        using var model = Model(family, positions);
        var pad = family == "roberta" ? 1 : 0;
        var packed = Forward(model, Batch(Rows, pad, skip: true));
        var hidden = packed.last_hidden_state.ToArray<float>();
        var pooled = packed.pooler_output!.ToArray<float>();
        var (length, width) = (Rows.Max(r => r.Length), 16);
        for (var i = 0; i < Rows.Length; i++)
        {
            var alone = Forward(model, Batch([Rows[i]], pad, skip: false));
            var expected = alone.last_hidden_state.ToArray<float>();
            for (var t = 0; t < length; t++)
                for (var h = 0; h < width; h++)
                {
                    var got = hidden[(i * length + t) * width + h];
                    if (t < Rows[i].Length) Assert.Equal(expected[t * width + h], got, 1e-5f);
                    else Assert.Equal(0f, got); // padded positions carry nothing
                }
            var expectedPool = alone.pooler_output!.ToArray<float>();
            for (var h = 0; h < width; h++) Assert.Equal(expectedPool[h], pooled[i * width + h], 1e-5f);
        }
    }

    [Fact]
    public void A_packed_forward_leaves_no_tensor_behind_and_a_batch_without_padding_is_not_packed()
    {
        using var model = Model("roberta", "absolute");
        var baseline = LiveTensors.Settled();
        for (var i = 0; i < 3; i++)
        {
            using var scope = torch.NewDisposeScope();
            using var inference = torch.inference_mode();
            var padded = Forward(model, Batch(Rows, 1, skip: true)).last_hidden_state;
            var full = Forward(model, Batch([Rows[0], Rows[0]], 1, skip: true)).last_hidden_state;
            var plain = Forward(model, Batch([Rows[0], Rows[0]], 1, skip: false)).last_hidden_state;
            Assert.Equal(plain.ToArray<float>(), full.ToArray<float>()); // nothing to skip: the same computation
            Assert.Equal([3L, 7, 16], padded.shape);
        }
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public void Skip_padding_is_refused_where_padded_positions_are_asked_for()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Model("roberta", "absolute");
        foreach (var input in new[]
                 {
                     Batch(Rows, 1, true) with { output_attentions = true },
                     Batch(Rows, 1, true) with { output_hidden_states = true },
                     Batch(Rows, 1, true) with { head_mask = torch.ones([4]) },
                 })
        {
            var e = Assert.Throws<ArgumentException>(() => Forward(model, input));
            Assert.Contains("skip_padding", e.Message);
        }
        using var decoder = new RobertaModel(new RobertaConfig { vocab_size = 20, hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 4, intermediate_size = 24, is_decoder = true });
        Assert.Contains("is_decoder", Assert.Throws<ArgumentException>(() => decoder.forward(Batch(Rows, 1, true))).Message);
    }
}
