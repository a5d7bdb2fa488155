<?php
declare(strict_types=1);

namespace Convtrack;

class ArgumentException extends InputException
{
}
