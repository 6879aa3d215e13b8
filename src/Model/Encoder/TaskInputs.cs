using Cluster.Torch;

namespace Cluster.Model.Encoder;

/// <summary>Input and output reshaping the task heads of both families share.</summary>
public static class TaskInputs
{
    /// <summary>Multiple choice: every (B, C, T) tensor of the input becomes (B·C, T); returns C.</summary>
    public static (EncoderInput flat, long choices) FlattenChoices(EncoderInput input)
    {
        var ids = input.input_ids;
        if (ids.dim() != 3) throw new ArgumentException($"multiple choice takes input_ids (batch, choices, tokens), got [{string.Join(", ", ids.shape)}]");
        static Tensor? Flat(Tensor? t) => t?.reshape(-1, t.size(-1));
        return (input with
        {
            input_ids = Flat(ids)!, attention_mask = Flat(input.attention_mask), token_type_ids = Flat(input.token_type_ids),
            position_ids = Flat(input.position_ids), input_shape_ids = Flat(input.input_shape_ids),
            input_pronunciation_ids = Flat(input.input_pronunciation_ids),
        }, ids.size(1));
    }

    /// <summary>Question answering: (B, T, 2) scores → start and end logits (B, T), with the span loss when positions are given.</summary>
    public static QuestionAnsweringModelOutput Spans(Tensor scores, Tensor? start_positions, Tensor? end_positions)
    {
        var parts = scores.split(1, -1);
        var (start, end) = (parts[0].squeeze(-1).contiguous(), parts[1].squeeze(-1).contiguous());
        var loss = start_positions is not null && end_positions is not null
            ? Losses.SpanExtraction(start, end, start_positions, end_positions)
            : null;
        return new QuestionAnsweringModelOutput(start, end) { loss = loss };
    }
}
