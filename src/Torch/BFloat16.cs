namespace Cluster.Torch;

/// <summary>The bfloat16 bit pattern (the upper half of a float32), for reading and writing bf16 tensors.</summary>
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds to nearest even, as libtorch does.</summary>
    public static explicit operator BFloat16(float value)
    {
        if (float.IsNaN(value)) return new BFloat16(0x7FC0);
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + rounding) >> 16));
    }

    public static explicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
